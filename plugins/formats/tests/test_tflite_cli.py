"""``litert convert --fmk tflite`` to .onnx / .ms / .mindir, and ``run`` / ``info`` / ``benchmark`` on a .tflite.

The oracle is LiteRT (``ai-edge-litert``) on the source file; the converted
.onnx also runs in onnxruntime.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tflite_testlib import DATA, max_error, run_litert, tf_models

pytest.importorskip("ai_edge_litert")

SOURCE = DATA / "small_cnn.tflite"
SOURCE_INT8 = DATA / "small_cnn_int8.tflite"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *map(str, args)], capture_output=True, text=True)


CASES = [(SOURCE, ".onnx"), (SOURCE, ".ms"), (SOURCE, ".mindir"), (SOURCE_INT8, ".onnx")]


@pytest.mark.parametrize("source,suffix", CASES, ids=lambda v: getattr(v, "name", v))
def test_convert_then_run_matches_litert_interpreter(tmp_path, source, suffix):
    """Float models to every writer; the int8 one to ONNX (QuantizeLinear/DequantizeLinear activations)."""
    import litert

    out = tmp_path / f"m{suffix}"
    litert.convert(source, out, fmk="tflite")
    feeds = tf_models.random_inputs(source, 3)
    want = tf_models.litert_interpreter_run(source, feeds)
    for w, g in zip(want, run_litert(out, feeds)):
        assert max_error(w, g) <= (1e-4 if w.dtype.kind == "f" else 1)
    if suffix == ".onnx" and source is SOURCE:  # onnxruntime 1.32 has no DequantizeLinear for opset 28
        import onnxruntime as ort

        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        theirs = session.run(None, {i.name: f for i, f in zip(session.get_inputs(), feeds)})
        for w, g in zip(want, theirs):
            assert max_error(w, g) <= 1e-4


def test_cli_convert_with_fmk(tmp_path):
    out = tmp_path / "m.ms"
    result = _cli("convert", "--fmk", "tflite", "--model", SOURCE, "--output", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[4:8] == b"MSL2"


def test_run_info_and_benchmark_on_the_tflite_file(tmp_path):
    feeds = tf_models.random_inputs(SOURCE, 4)
    np.save(tmp_path / "x.npy", feeds[0])
    result = _cli("run", "--model", SOURCE, "--input", tmp_path / "x.npy", "--output", tmp_path / "out.npz")
    assert result.returncode == 0, result.stderr
    got = list(np.load(tmp_path / "out.npz").values())
    want = tf_models.litert_interpreter_run(SOURCE, feeds)
    assert max_error(want[0], got[0]) <= 1e-4

    info = _cli("info", SOURCE)
    assert info.returncode == 0 and "(tflite" in info.stdout and "Conv" in info.stdout

    bench = _cli("benchmark", "--model", SOURCE, "--loop-count", "3", "--warmup-loop-count", "1")
    assert bench.returncode == 0, bench.stderr


def test_unsupported_custom_operator_exits_with_one_line(tmp_path):
    from test_flatbuf_bad_input import TFLITE_CASE, Patcher, _code, _code_positions

    p = Patcher(TFLITE_CASE)
    small, large = _code_positions(p, "SOFTMAX")
    p.buf[small] = _code("CUSTOM")
    p.put_u32(large, _code("CUSTOM"))
    result = _cli("convert", "--model", p.save(tmp_path), "--output", tmp_path / "m.onnx")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if "plugin" not in line]
    assert len(lines) == 1 and "custom operator" in lines[0]
