"""``litert convert`` / ``litert run`` with .mindir files, through the existing commands."""
from __future__ import annotations

import subprocess
import sys

import mindir_cases
import mindir_testlib as lib
import numpy as np
import onnx
import pytest


def _cli(*args):
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_convert_mindir_to_onnx_and_run_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    fx = lib.fixture("resnet_bn")
    out = tmp_path / "resnet_bn.onnx"
    text = _cli("convert", "--fmk", "mindir", "--model", str(fx.path), "--output", str(out))
    assert str(out) in text and out.exists()
    case = fx.cases[0]
    [got] = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, case.inputs)
    lib.assert_matches(got, case.outputs[0])


def test_run_mindir_by_suffix(tmp_path):
    fx = lib.fixture("transformer_block")
    case = fx.cases[0]
    np.save(tmp_path / "x.npy", case.inputs["x"])
    text = _cli("run", "--model", str(fx.path), "--input", str(tmp_path / "x.npy"),
                "--output", str(tmp_path / "y.npz"))
    assert "latency" in text
    y = np.load(tmp_path / "y.npz")
    lib.assert_matches(y[y.files[0]], case.outputs[0])


def test_run_mindir_with_fmk_and_dynamic_batch(tmp_path):
    fx = lib.fixture("dynamic_batch")
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(fx.path.read_bytes())
    case = fx.cases[1]
    np.savez(tmp_path / "in.npz", **case.inputs)
    _cli("run", "--model", str(renamed), "--fmk", "mindir", "--input", str(tmp_path / "in.npz"),
         "--output", str(tmp_path / "y.npz"))
    y = np.load(tmp_path / "y.npz")
    lib.assert_matches(y[y.files[0]], case.outputs[0])


def test_convert_onnx_to_mindir(tmp_path):
    model, feeds = mindir_cases.conv_block()
    src, dst = tmp_path / "conv.onnx", tmp_path / "conv.mindir"
    onnx.save(model, src)
    _cli("convert", "--fmk", "onnx", "--model", str(src), "--output", str(dst))
    np.savez(tmp_path / "in.npz", **feeds)
    _cli("run", "--model", str(src), "--input", str(tmp_path / "in.npz"), "--output", str(tmp_path / "a.npz"))
    _cli("run", "--model", str(dst), "--input", str(tmp_path / "in.npz"), "--output", str(tmp_path / "b.npz"))
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    lib.assert_matches(b[b.files[0]], a[a.files[0]])


def test_list_formats_shows_mindir():
    import json

    formats = json.loads(_cli("list-formats", "--json"))
    assert {"name": "mindir", "kind": "reader", "extensions": [".mindir"]} in formats
    assert any(f["name"] == "mindir" and f["kind"] == "writer" for f in formats)
