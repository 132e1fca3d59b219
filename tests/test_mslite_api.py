"""``litert.mslite`` against MindSpore Lite 2.0: the same user scripts, only the import changed.

The scripts under ``tests/mslite_scripts/`` are written against MindSpore
Lite's documented Python API (``import mindspore_lite as mslite``).  Each
test runs a script with that line replaced by ``import litert.mslite as
mslite``; the live tests (``-m live``) also run it unchanged in MindSpore
Lite 2.0's Python 3.7 venv (``tools/mslite/build_venv.sh``) and compare.

Models: the committed ``.ms`` fixtures converter_lite made
(``tests/data/ms``, with MindSpore Lite's outputs), and ``.ms`` files the
conversion script makes with litert from the same ONNX models.  Outputs
must agree within 1e-5 of the reference's scale (its largest magnitude).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "mslite_scripts"
DATA = ROOT / "tests" / "data" / "ms"
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import fixture_models  # noqa: E402
import mslite_oracle  # noqa: E402

import litert  # noqa: E402

ORIGINAL_IMPORT = "import mindspore_lite as mslite\n"
LITERT_IMPORT = "import litert.mslite as mslite\n"
#: error bound: max |got - want| over the scale of want
TOLERANCE_OF_SCALE = 1e-5
#: fixture -> quickstart options (a dynamic batch cannot be served by a ModelParallelRunner in MindSpore Lite)
CASES = {
    "small_cnn": ["--batch", "2", "--workers", "2"],
    "small_cnn_nchw": ["--batch", "2", "--workers", "2"],
    "mobilenet_v2_tiny": ["--batch", "2", "--workers", "2"],
    "bert_tiny": ["--batch", "2"],
    "lstm": ["--workers", "2"],
}
#: what MindSpore Lite 2.0.0 raises for each case of errors.py (the live test checks this table against it)
EXPECTED_ERRORS = {
    "context.target = 'cpu'": "TypeError",
    "context.target = ['npu']": "ValueError",
    "cpu.thread_num = '2'": "TypeError",
    "cpu.thread_num = -1": "ValueError",
    "cpu.inter_op_parallel_num = -1": "ValueError",
    "cpu.precision_mode = 'fp64'": "ValueError",
    "cpu.thread_affinity_mode = 1.0": "TypeError",
    "cpu.thread_affinity_core_list = (0, 1)": "TypeError",
    "ascend.device_id = -1": "ValueError",
    "parallel.workers_num = -1": "ValueError",
    "build_from_file(1, ...)": "TypeError",
    "build_from_file(path, 4)": "TypeError",
    "build_from_file(missing)": "RuntimeError",
    "build_from_file(path, MINDIR)": "RuntimeError",
    "build_from_file(path, context='cpu')": "TypeError",
    "build_from_file(not a model)": "RuntimeError",
    "build_from_file(a directory)": "RuntimeError",
    "set_data_from_numpy(list)": "TypeError",
    "set_data_from_numpy(float64)": "RuntimeError",
    "set_data_from_numpy(wrong size)": "RuntimeError",
    "tensor.shape = (1, 2)": "TypeError",
    "tensor.dtype = np.float32": "TypeError",
    "tensor.format = 'NHWC'": "TypeError",
    "tensor.name = 1": "TypeError",
    "predict('x')": "TypeError",
    "predict([1])": "TypeError",
    "predict([])": "RuntimeError",
    "resize(inputs, 'x')": "TypeError",
    "resize(inputs, [(1,)])": "TypeError",
    "resize(inputs, [[1.0]])": "TypeError",
    "resize(inputs, [[1], [2]])": "ValueError",
    "resize(inputs, wrong rank)": "RuntimeError",
    "converter.optimize = 'fast'": "ValueError",
    "converter.input_format = Format.NC": "ValueError",
    "converter.weight_fp16 = 1": "TypeError",
    "converter.save_type = 4": "TypeError",
    "converter.input_shape = {'a': (1, 2)}": "TypeError",
    "converter.device = 'GPU'": "ValueError",
    "convert(2, ...)": "TypeError",
    "convert(missing)": "RuntimeError",
    "runner.build_from_file(missing)": "RuntimeError",
}


# ---------------------------------------------------------------- running the scripts


def litert_script(name: str, tmp_path: Path) -> Path:
    """The script with only its import line changed."""
    text = (SCRIPTS / name).read_text()
    assert text.count(ORIGINAL_IMPORT) == 1, f"{name} must import mindspore_lite exactly once"
    path = tmp_path / f"litert_{name}"
    path.write_text(text.replace(ORIGINAL_IMPORT, LITERT_IMPORT))
    return path


def run_with_litert(name: str, args: list[str], tmp_path: Path) -> str:
    """Run the script with litert.mslite (in this process: its ``main``), returning what it prints."""
    import contextlib
    import io
    import runpy

    namespace = runpy.run_path(str(litert_script(name, tmp_path)), run_name="litert_mslite_script")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert namespace["main"]([str(a) for a in args]) == 0
    return out.getvalue()


def run_with_mindspore_lite(name: str, args: list[str]) -> str:
    proc = subprocess.run([str(mslite_oracle.python()), str(SCRIPTS / name)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"MindSpore Lite ran {name} {args[:1]}: exit {proc.returncode}: {proc.stderr[-1500:]}"
    return proc.stdout


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    error = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    assert error <= TOLERANCE_OF_SCALE * (scale or 1.0), f"{what}: max error {error:.3g}, scale {scale:.3g}"


def fixture_inputs(name: str) -> tuple[Path, list[np.ndarray]]:
    data = np.load(DATA / f"{name}.npz")
    return DATA / f"{name}.npz", [data[f"in_{i}"] for i in range(len(data["input_names"]))]


def litert_made_ms(name: str, tmp_path: Path) -> Path:
    """The fixture's source ONNX model converted by convert.py with litert."""
    build, input_format = fixture_models.FIXTURES[name]
    model, _ = build()
    source = tmp_path / f"{name}.onnx"
    onnx.save(model, source)
    prefix = tmp_path / f"{name}_litert"
    run_with_litert("convert.py", [source, prefix, "--input-format", input_format], tmp_path)
    return prefix.with_suffix(".ms")


def check_against_litert_core(result, model_path: Path, inputs: list[np.ndarray], options: list[str]) -> None:
    """Batch and parallel-runner outputs of a quickstart result against ``litert.load`` run directly."""
    session = litert.load(model_path)
    count = len(result["names"])

    def scaled(factor):  # as quickstart.py varies requests: the first input scaled
        return [(inputs[0] * factor).astype(inputs[0].dtype)] + inputs[1:]

    if "--batch" in options:
        half = session.predict(scaled(0.5))
        for i in range(count):
            assert_close(result[f"batch_{i}"][:1], result[f"out_{i}"], f"batch row 0 of output {i}")
            assert_close(result[f"batch_{i}"][1:], half[i], f"batch row 1 of output {i}")
    if "--workers" in options:
        for request in range(4):
            want = session.predict(scaled(1.0 + 0.25 * request))
            for i in range(count):
                assert_close(result[f"runner_{request}_{i}"], want[i], f"runner request {request} output {i}")


# ---------------------------------------------------------------- default run: litert side


@pytest.mark.parametrize("name", list(CASES))
def test_quickstart_on_converter_lite_models(name, tmp_path):
    """converter_lite's .ms: litert.mslite gives MindSpore Lite's stored outputs, names and input shapes."""
    inputs_file, inputs = fixture_inputs(name)
    run_with_litert("quickstart.py", [DATA / f"{name}.ms", inputs_file, tmp_path / "r.npz"] + CASES[name], tmp_path)
    result = np.load(tmp_path / "r.npz")
    stored = np.load(inputs_file)
    assert list(result["names"]) == list(stored["output_names"])
    assert list(result["input_names"]) == list(stored["input_names"])
    for i in range(len(stored["output_names"])):
        assert_close(result[f"out_{i}"], stored[f"msl_{i}"], f"{name} output {i} vs MindSpore Lite")
    check_against_litert_core(result, DATA / f"{name}.ms", inputs, CASES[name])


@pytest.mark.parametrize("name", ["small_cnn", "small_cnn_nchw", "bert_tiny"])
def test_quickstart_on_litert_models(name, tmp_path):
    """.ms made by the conversion script with litert: outputs of onnxruntime on the source ONNX model."""
    ms_path = litert_made_ms(name, tmp_path)
    inputs_file, inputs = fixture_inputs(name)
    run_with_litert("quickstart.py", [ms_path, inputs_file, tmp_path / "r.npz"] + CASES[name], tmp_path)
    result = np.load(tmp_path / "r.npz")
    stored = np.load(inputs_file)
    for i in range(len(stored["output_names"])):
        assert_close(result[f"out_{i}"], stored[f"ort_{i}"], f"{name} output {i} vs onnxruntime")
    check_against_litert_core(result, ms_path, inputs, CASES[name])


def test_errors_have_mindspore_lite_types(tmp_path):
    printed = run_with_litert("errors.py", [DATA / "small_cnn.ms"], tmp_path)
    assert json.loads(printed.strip().splitlines()[-1]) == EXPECTED_ERRORS


def test_errors_are_litert_errors():
    """The MindSpore Lite exception types are litert's typed errors too."""
    import litert.mslite as mslite
    from litert.errors import LitertError

    with pytest.raises(LitertError, match="model_path does not exist"):
        mslite.Model().build_from_file("missing.ms", mslite.ModelType.MINDIR_LITE)
    with pytest.raises(TypeError):
        mslite.Model().build_from_file("missing.ms", 4)


def test_unavailable_target_raises_and_ignored_options_warn():
    import litert.mslite as mslite

    context = mslite.Context()
    context.target = ["ascend"]
    assert context.target == ["ascend"]
    with pytest.raises(RuntimeError, match="ascend"):  # MindSpore Lite 2.0 also fails to build without Ascend
        mslite.Model().build_from_file(str(DATA / "small_cnn.ms"), mslite.ModelType.MINDIR_LITE, context)
    context = mslite.Context()
    context.target = ["gpu"]
    with pytest.raises(RuntimeError, match="no GPU backend"):
        mslite.Model().build_from_file(str(DATA / "small_cnn.ms"), mslite.ModelType.MINDIR_LITE, context)
    context = mslite.Context()
    context.cpu.precision_mode = "preferred_fp16"
    context.cpu.thread_affinity_core_list = [0]
    with pytest.warns(mslite.OptionIgnoredWarning) as caught:
        mslite.Model().build_from_file(str(DATA / "small_cnn.ms"), mslite.ModelType.MINDIR_LITE, context)
    messages = " ".join(str(w.message) for w in caught)
    assert "preferred_fp16" in messages and "thread_affinity_core_list" in messages


def test_converter_refuses_what_litert_cannot_write(tmp_path):
    import litert.mslite as mslite

    model, _ = fixture_models.small_cnn()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    refusals = {"weight_fp16": True, "device": "Ascend", "optimize": "ascend_oriented",
                "input_data_type": mslite.DataType.INT8, "enable_encryption": True}
    for attribute, value in refusals.items():
        converter = mslite.Converter()
        setattr(converter, attribute, value)
        with pytest.raises(RuntimeError, match="Converter model failed"):
            converter.convert(mslite.FmkType.ONNX, str(source), str(tmp_path / attribute))
        assert not (tmp_path / f"{attribute}.mindir").exists()
    converter = mslite.Converter()
    converter.set_config_info("common_quant_param", {"quant_type": "WEIGHT_QUANT"})
    with pytest.raises(RuntimeError, match=r"\[common_quant_param\]"):
        converter.convert(mslite.FmkType.ONNX, str(source), str(tmp_path / "q"))
    converter = mslite.Converter()
    with pytest.raises(RuntimeError, match="no pytorch reader"):
        converter.convert(mslite.FmkType.PYTORCH, str(source), str(tmp_path / "pt"))
    with pytest.raises(RuntimeError, match="weight_file is for Caffe models"):
        converter.convert(mslite.FmkType.ONNX, str(source), str(tmp_path / "w"), weight_file=str(source))
    converter.infer = True  # the default save type, MINDIR, gets the .mindir suffix
    converter.convert(mslite.FmkType.ONNX, str(source), str(tmp_path / "out"))
    assert litert.load(tmp_path / "out.mindir").outputs


# ---------------------------------------------------------------- live: the same scripts in MindSpore Lite 2.0


_AVAILABLE, _WHY = mslite_oracle.available()
live = pytest.mark.skipif(not _AVAILABLE, reason=f"MindSpore Lite 2.0 not available: {_WHY}")


def _compare_runs(model_path: Path, inputs_file: Path, options: list[str], tmp_path: Path) -> None:
    args = [model_path, inputs_file]
    run_with_mindspore_lite("quickstart.py", args + [tmp_path / "msl.npz"] + options)
    run_with_litert("quickstart.py", args + [tmp_path / "litert.npz"] + options, tmp_path)
    want, got = np.load(tmp_path / "msl.npz"), np.load(tmp_path / "litert.npz")
    assert sorted(got.files) == sorted(want.files)
    for key in ("names", "input_names", "input_shapes"):
        assert list(got[key]) == list(want[key]), key
    for key in want.files:
        if key not in ("names", "input_names", "input_shapes"):
            assert_close(got[key], want[key], f"{model_path.name} {key}")


@pytest.mark.live
@live
@pytest.mark.parametrize("name", list(CASES))
def test_live_quickstart_on_converter_lite_models(name, tmp_path):
    _compare_runs(DATA / f"{name}.ms", DATA / f"{name}.npz", CASES[name], tmp_path)


@pytest.mark.live
@live
@pytest.mark.parametrize("name", list(CASES))
def test_live_quickstart_on_litert_models(name, tmp_path):
    _compare_runs(litert_made_ms(name, tmp_path), DATA / f"{name}.npz", CASES[name], tmp_path)


@pytest.mark.live
@live
def test_live_convert_script_in_both(tmp_path):
    """convert.py run by MindSpore Lite and by litert; each engine runs both files alike."""
    model, _ = fixture_models.small_cnn()
    source = tmp_path / "small_cnn.onnx"
    onnx.save(model, source)
    run_with_mindspore_lite("convert.py", [source, tmp_path / "by_msl"])
    assert (tmp_path / "by_msl.ms").is_file()
    _compare_runs(tmp_path / "by_msl.ms", DATA / "small_cnn.npz", CASES["small_cnn"], tmp_path)


@pytest.mark.live
@live
def test_live_error_table_is_mindspore_lites():
    printed = run_with_mindspore_lite("errors.py", [DATA / "small_cnn.ms"])
    assert json.loads(printed.strip().splitlines()[-1]) == EXPECTED_ERRORS
