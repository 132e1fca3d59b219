"""The ``litert`` command line on a real model."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
from helpers.modelgen import light_input, randomized_light_model


def _cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_list_commands():
    rows = json.loads(_cli("list-backends", "--json").stdout)
    names = {r["name"]: r for r in rows}
    assert names["cpu"]["status"] == "available" and names["cpu"]["operators"] > 150
    assert names["ascend"]["status"] == "unavailable" and "libascendcl.so" in names["ascend"]["reason"]
    assert names["kirin_npu"]["status"] == "unavailable"
    text = _cli("list-backends").stdout
    assert "litert-cpu" in text and "unavailable" in text
    formats = json.loads(_cli("list-formats", "--json").stdout)
    assert {"name": "onnx", "kind": "reader", "extensions": [".onnx"]} in formats
    assert any(f["kind"] == "writer" and f["name"] == "onnx" for f in formats)
    assert "onnx" in _cli("list-frontends").stdout


def test_convert_run_info(tmp_path):
    model = randomized_light_model("squeezenet", seed=0)
    src = tmp_path / "squeezenet.onnx"
    onnx.save(model, src)
    out = tmp_path / "squeezenet.opt.onnx"
    converted = _cli("convert", "--fmk", "onnx", "--model", str(src), "--output", str(out))
    assert "activation_fusion" in converted.stdout and out.exists()
    feeds = light_input(model, seed=1)
    [(name, x)] = feeds.items()
    np.save(tmp_path / "x.npy", x)
    ran = _cli("run", "--model", str(src), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npz"),
               "--threads", "2", "--verbose")
    assert "cpu: " in ran.stdout and "planned arena" in ran.stdout and "latency" in ran.stdout
    y = np.load(tmp_path / "y.npz")
    ran_opt = _cli("run", "--model", str(out), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y2.npz"))
    assert "latency" in ran_opt.stdout
    y2 = np.load(tmp_path / "y2.npz")
    [key] = y.files
    np.testing.assert_allclose(y[key], y2[y2.files[0]], rtol=1e-4, atol=1e-4)
    info = json.loads(_cli("info", str(src), "--json").stdout)
    assert info["operators"]["Conv"] == 26 and info["weights_bytes"] > 0
    assert 0 < info["planned_arena_bytes"] < info["naive_activation_bytes"]
    assert "Conv" in _cli("info", str(src)).stdout


def test_input_shape_override(tmp_path):
    from helpers.modelgen import mobilenet_v2

    src = tmp_path / "m.onnx"
    onnx.save(mobilenet_v2(width=0.35, resolution=64, classes=10), src)
    info = json.loads(_cli("info", str(src), "--json").stdout)
    assert info["inputs"][0].startswith("input: float32 [N")
    out = tmp_path / "m_b4.onnx"
    _cli("convert", "--model", str(src), "--output", str(out), "--input-shape", "input:4,3,64,64")
    fixed = json.loads(_cli("info", str(out), "--json").stdout)
    assert fixed["inputs"][0] == "input: float32 [4x3x64x64]"
    bad = _cli("convert", "--model", str(src), "--output", str(out), "--input-shape", "input:4,x", check=False)
    assert bad.returncode == 1 and "must be integers" in bad.stderr
