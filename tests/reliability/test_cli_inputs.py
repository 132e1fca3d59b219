"""Hostile input files give the CLI one readable line and exit 1, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import helper


@pytest.fixture
def model(tmp_path):
    return save(onnx_model([helper.make_node("Relu", ["x"], ["y"], name="r")], {"x": (F, [2])}, {"y": (F, [2])}),
                tmp_path / "relu.onnx")


def _object_npz(path):
    np.savez(path, x=np.array([1, "a"], dtype=object))
    return path


def _truncated_npz(path):
    np.savez(path, x=np.ones(2, np.float32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make", [_object_npz, _truncated_npz])
@pytest.mark.parametrize("command", ["run", "benchmark"])
def test_bad_npz_is_one_line(tmp_path, model, make, command):
    bad = make(tmp_path / "in.npz")
    flag = "--input" if command == "run" else "--in-data"
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", command, "--model", str(model), flag, str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "in.npz" in result.stderr
