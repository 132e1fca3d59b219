"""A model cannot make a run spin forever: predict(timeout=) / litert run --timeout bound it."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import TensorProto, helper

import litert
from litert.errors import LitertError


def _endless_loop(path):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep"),
         helper.make_node("Add", ["v", "one"], ["v_out"], name="inc")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", F, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", F, [1])],
        [helper.make_tensor("one", F, [1], [1.0])],
    )
    trips = helper.make_tensor("trips", TensorProto.INT64, [], [2**56])
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    loop = helper.make_node("Loop", ["trips", "cond", "x"], ["y"], name="loop", body=body)
    return save(onnx_model([loop], {"x": (F, [1])}, {"y": (F, [1])}, [trips, cond], opset=17), path)


def test_loop_with_2_56_trips_stops_at_the_timeout(tmp_path):
    session = litert.load(_endless_loop(tmp_path / "loop.onnx"))
    started = time.monotonic()
    with pytest.raises(LitertError, match="timeout"):
        session.predict([np.zeros(1, np.float32)], timeout=0.5)
    assert time.monotonic() - started < 10


def test_cli_run_timeout(tmp_path):
    path = _endless_loop(tmp_path / "loop.onnx")
    np.save(tmp_path / "x.npy", np.zeros(1, np.float32))
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "run", "--model", str(path),
                             "--input", str(tmp_path / "x.npy"), "--timeout", "0.5"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "timeout" in result.stderr and result.stderr.count("\n") == 1, result.stderr
