"""``litert converter_lite`` and ``litert benchmark`` with MindSpore Lite's flags.

Every flag of MindSpore Lite's converter_lite and benchmark (the project's
reference, sections 1-2) has a row in ``docs/mindspore-lite-compat.md``;
the rows must be the code's table (:mod:`litert.cli.mslite_flags`), and
every row is run here: an accepted value must work, a no-effect value must
work and say so on stderr, a refused value must stop the command with one
error line.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "ms"
DOC = ROOT / "docs" / "mindspore-lite-compat.md"
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import fixture_models  # noqa: E402

from litert.benchmark.accuracy import write_calibration_file  # noqa: E402
from litert.cli import mslite_flags  # noqa: E402
from litert.cli.main import main  # noqa: E402

#: the flags of MindSpore Lite's tools (reference sections 1 and 2)
REFERENCE_CONVERTER = ["fmk", "modelFile", "outputFile", "weightFile", "configFile", "fp16", "inputShape",
                       "inputDataFormat", "outputDataFormat", "inputDataType", "outputDataType", "saveType", "optimize",
                       "optimizeTransformer", "trainModel", "decryptKey", "decryptMode", "encryptKey", "encryption",
                       "infer", "device"]
REFERENCE_BENCHMARK = ["modelFile", "modelType", "inDataFile", "configFile", "device", "provider", "cpuBindMode",
                       "cpuCoreList", "numThreads", "interOpParallelNum", "loopCount", "warmUpLoopCount", "enableFp16",
                       "enableParallel", "timeProfiling", "perfProfiling", "perfEvent", "benchmarkDataFile",
                       "benchmarkDataType", "accuracyThreshold", "cosineDistanceThreshold", "inputShapes", "inputShape",
                       "decryptKey", "cryptoLibPath", "enableParallelPredict", "parallelNum", "parallelTaskNum",
                       "workersNum", "enableSharedThreadPool", "threadNumLimitPerWorker", "threadNumRemainingPerWorker",
                       "enableGLTexture", "delegateMode", "deviceId", "rankId", "GroupInfoFile"]

OK, NOTE, REFUSED = "ok", "note", "refused"
#: per flag, values to run and what must happen ("{file}", "{config}", "{onnx}" ... are filled in)
CONVERTER_SAMPLES = {
    "fmk": [("ONNX", OK), ("MSLITE", REFUSED), ("TF", REFUSED)],
    "modelFile": [("{onnx}", OK), ("{missing}", REFUSED)],
    "outputFile": [("{out}", OK)],
    "weightFile": [("{file}", REFUSED), ("", OK)],
    "configFile": [("{config}", REFUSED), ("", OK)],
    "fp16": [("on", OK), ("off", OK), ("half", REFUSED)],
    "inputShape": [("image:1,3,32,32", OK), ("image:1,x", REFUSED)],
    "inputDataFormat": [("NCHW", OK), ("NC", REFUSED)],
    "outputDataFormat": [("NCHW", REFUSED), ("", OK)],
    "inputDataType": [("FLOAT", OK), ("DEFAULT", OK), ("INT8", REFUSED)],
    "outputDataType": [("FLOAT", OK), ("UINT8", REFUSED)],
    "saveType": [("MINDIR", OK), ("MINDIR_LITE", OK)],
    "optimize": [("none", OK), ("ascend_oriented", REFUSED), ("gpu_oriented", REFUSED)],
    "optimizeTransformer": [("true", REFUSED), ("false", OK)],
    "trainModel": [("true", REFUSED), ("false", OK)],
    "decryptKey": [("30313233343536373839414243444546", REFUSED), ("", OK)],
    "decryptMode": [("AES-CBC", NOTE), ("AES-GCM", OK)],
    "encryptKey": [("30313233343536373839414243444546", REFUSED), ("", OK)],
    "encryption": [("true", REFUSED), ("false", OK)],
    "infer": [("true", OK)],
    "device": [("Ascend", REFUSED), ("", OK)],
}
BENCHMARK_SAMPLES = {
    "modelFile": [("{ms}", OK), ("{missing}", REFUSED)],
    "modelType": [("MindIR_Lite", OK), ("MindIR", REFUSED)],
    "inDataFile": [("{bin}", OK)],
    "configFile": [("{config}", REFUSED), ("", OK)],
    "device": [("CPU", OK), ("Auto", OK), ("GPU", REFUSED)],
    "provider": [("tensorrt", REFUSED), ("litert", OK)],
    "cpuBindMode": [("2", NOTE), ("0", OK), ("7", REFUSED)],
    "cpuCoreList": [("0,1", NOTE), ("", OK)],
    "numThreads": [("2", OK)],
    "interOpParallelNum": [("2", NOTE), ("1", OK)],
    "loopCount": [("2", OK), ("0", REFUSED)],
    "warmUpLoopCount": [("1", OK)],
    "enableFp16": [("true", NOTE), ("false", OK)],
    "enableParallel": [("true", NOTE), ("false", OK)],
    "timeProfiling": [("true", OK), ("maybe", REFUSED)],
    "perfProfiling": [("true", REFUSED), ("false", OK)],
    "perfEvent": [("CACHE", NOTE), ("CYCLE", OK)],
    "benchmarkDataFile": [("{calib}", OK), ("{missing}", REFUSED)],
    "benchmarkDataType": [("INT32", OK), ("DOUBLE", REFUSED)],
    "accuracyThreshold": [("1.0", OK)],
    "cosineDistanceThreshold": [("0.99", OK)],
    "inputShapes": [("1,32,32,3", OK), ("1,32,32,3:1,2", REFUSED)],
    "inputShape": [("image:1,32,32,3", OK)],
    "decryptKey": [("30313233343536373839414243444546", REFUSED), ("", OK)],
    "cryptoLibPath": [("/usr/lib/libcrypto.so", NOTE), ("", OK)],
    "enableParallelPredict": [("true", REFUSED), ("false", OK)],
    "parallelNum": [("4", NOTE), ("2", OK)],
    "parallelTaskNum": [("4", NOTE), ("2", OK)],
    "workersNum": [("4", NOTE), ("2", OK)],
    "enableSharedThreadPool": [("true", REFUSED), ("false", OK)],
    "threadNumLimitPerWorker": [("2", NOTE), ("", OK)],
    "threadNumRemainingPerWorker": [("2", NOTE), ("", OK)],
    "enableGLTexture": [("true", REFUSED), ("false", OK)],
    "delegateMode": [("CoreML", REFUSED), ("", OK)],
    "deviceId": [("0", REFUSED), ("-1", OK)],
    "rankId": [("0", REFUSED), ("-1", OK)],
    "GroupInfoFile": [("group.json", REFUSED), ("", OK)],
}
#: what each documented status requires of a flag's samples
REQUIRED = {mslite_flags.ACCEPTED: {OK}, mslite_flags.IGNORED: {OK, NOTE}, mslite_flags.REFUSED: {OK, REFUSED},
            mslite_flags.PARTLY: {OK, REFUSED}}


def doc_rows(section: str) -> list[tuple[str, str, str, str]]:
    text = DOC.read_text()
    body = text.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in body.splitlines():
        match = re.match(r"\| `--(\w+)` \| (.*?) \| (.*?) \| (.*) \|$", line)
        if match:
            rows.append(match.groups())
    return rows


@pytest.mark.parametrize("section, flags, reference, samples", [
    ("converter_lite", mslite_flags.converter_flags(), REFERENCE_CONVERTER, CONVERTER_SAMPLES),
    ("benchmark", mslite_flags.benchmark_flags(), REFERENCE_BENCHMARK, BENCHMARK_SAMPLES),
])
def test_doc_table_is_the_code_table_and_covers_the_reference(section, flags, reference, samples):
    assert doc_rows(section) == [(f.name, f.default, f.status, f.reason) for f in flags]
    assert [f.name for f in flags] == reference
    for flag in flags:
        kinds = {kind for _, kind in samples[flag.name]}
        assert REQUIRED[flag.status] <= kinds, f"--{flag.name} ({flag.status}) needs samples of {REQUIRED[flag.status]}"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mslite_cli")
    model, _ = fixture_models.small_cnn()
    onnx.save(model, tmp / "small_cnn.onnx")
    data = np.load(DATA / "small_cnn.npz")
    data["in_0"].tofile(tmp / "in.bin")
    write_calibration_file(tmp / "small_cnn.out", {"gemm_54": data["msl_0"], "softmax_56": data["msl_1"]})
    write_calibration_file(tmp / "wrong.out", {"gemm_54": data["msl_0"] + 1.0, "softmax_56": data["msl_1"]})
    (tmp / "config.cfg").write_text("[common_quant_param]\nquant_type=WEIGHT_QUANT\n")
    (tmp / "weights.caffemodel").write_bytes(b"\0")
    return {"onnx": tmp / "small_cnn.onnx", "ms": DATA / "small_cnn.ms", "bin": tmp / "in.bin",
            "calib": tmp / "small_cnn.out", "wrong_calib": tmp / "wrong.out", "config": tmp / "config.cfg",
            "file": tmp / "weights.caffemodel", "missing": tmp / "missing.onnx", "dir": tmp}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check(flag: str, value: str, kind: str, code: int, out: str, err: str) -> None:
    what = f"--{flag}={value}"
    noted = [line for line in err.splitlines() if line.startswith(f"litert: --{flag}=") and "has no effect" in line]
    errors = [line for line in err.splitlines() if ": error: " in line]
    if kind == REFUSED:
        assert code == 1 and len(errors) == 1, f"{what}: exit {code}, stderr {err!r}"
    else:
        assert code == 0 and not errors, f"{what}: exit {code}, stderr {err!r}"
        assert bool(noted) == (kind == NOTE), f"{what}: stderr {err!r}"


@pytest.mark.parametrize("flag", REFERENCE_CONVERTER)
def test_converter_lite_flag(flag, files, capsys):
    for index, (value, kind) in enumerate(CONVERTER_SAMPLES[flag]):
        out_prefix = files["dir"] / f"{flag}_{index}"
        value = value.format(out=out_prefix, **files)
        args = {"fmk": "ONNX", "modelFile": str(files["onnx"]), "outputFile": str(out_prefix), flag: value}
        code, out, err = run_cli(["converter_lite"] + [f"--{k}={v}" for k, v in args.items()], capsys)
        check(flag, value, kind, code, out, err)
        if kind == REFUSED:
            assert "CONVERT RESULT FAILED" in out
        else:
            assert out.strip().endswith("CONVERT RESULT SUCCESS:0")
            suffix = ".mindir" if (flag, value) == ("saveType", "MINDIR") else ".ms"
            assert Path(str(out_prefix) + suffix).is_file()


@pytest.mark.parametrize("flag", REFERENCE_BENCHMARK)
def test_benchmark_flag(flag, files, capsys):
    for value, kind in BENCHMARK_SAMPLES[flag]:
        value = value.format(**files)
        args = {"modelFile": str(files["ms"]), "inDataFile": str(files["bin"]), "loopCount": "1", "warmUpLoopCount": "0",
                "numThreads": "1", flag: value}
        code, out, err = run_cli(["benchmark"] + [f"--{k}={v}" for k, v in args.items()], capsys)
        check(flag, value, kind, code, out, err)
        if kind != REFUSED:
            assert "MinRunTime = " in out and out.startswith(f"ModelPath = {files['ms']}")


def test_benchmark_accuracy_lines_are_mindspore_lites(files, capsys):
    base = ["benchmark", f"--modelFile={files['ms']}", f"--inDataFile={files['bin']}", "--loopCount=1"]
    code, out, err = run_cli(base + [f"--benchmarkDataFile={files['calib']}"], capsys)
    assert code == 0
    assert "Mean bias of node/tensor softmax_56 : " in out and "Mean bias of all nodes/tensors: 0%" in out
    code, out, err = run_cli(base + [f"--benchmarkDataFile={files['wrong_calib']}"], capsys)
    assert code == 1 and "Mean bias of all nodes/tensors is too big: " in out


def test_converter_lite_output_runs_like_the_source(files, capsys):
    """The .ms converter_lite-style flags write runs with onnxruntime's outputs (NCHW and NHWC inputs)."""
    import litert

    data = np.load(DATA / "small_cnn.npz")
    for layout, feed in (("NHWC", data["in_0"]), ("NCHW", data["in_0"].transpose(0, 3, 1, 2))):
        prefix = files["dir"] / f"layout_{layout}"
        code, out, err = run_cli(["converter_lite", "--fmk=ONNX", f"--modelFile={files['onnx']}",
                                  f"--outputFile={prefix}", f"--inputDataFormat={layout}"], capsys)
        assert code == 0, err
        got = litert.load(f"{prefix}.ms").predict([np.ascontiguousarray(feed)])
        np.testing.assert_allclose(got[1], data["ort_1"], rtol=1e-4, atol=1e-6)


def test_converter_lite_console_script():
    import importlib.metadata

    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("converter_lite") == "litert.cli.main:converter_lite"
    assert "benchmark" not in scripts or not scripts["benchmark"].startswith("litert")
