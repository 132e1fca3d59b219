"""Bad input gets a typed error with one readable line, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import litert
from litert.errors import InputError, ModelLoadError, UnsupportedOperatorError


@pytest.fixture
def relu_model(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True)


def test_truncated_model(tmp_path):
    from helpers.modelgen import light_model_path

    data = light_model_path("squeezenet").read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="truncated.onnx"):
        litert.load(path)
    result = _cli("run", "--model", str(path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_corrupt_and_missing_model(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelLoadError):
        litert.load(path)
    with pytest.raises(ModelLoadError, match="no such file"):
        litert.load(tmp_path / "absent.onnx")
    unknown = tmp_path / "model.bin"
    unknown.write_bytes(b"\x00" * 16)
    with pytest.raises(ModelLoadError, match="unknown model format"):
        litert.load(unknown)


def test_unknown_operator_names_node_and_op(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["h"], name="first"),
         helper.make_node("FancyOp", ["h"], ["y"], name="mystery_node", domain="com.example")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "unknown_op.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]), path)
    with pytest.raises(UnsupportedOperatorError) as info:
        litert.load(path)
    assert "mystery_node" in str(info.value) and "FancyOp" in str(info.value)
    result = _cli("run", "--model", str(path))
    assert result.returncode == 1 and "mystery_node" in result.stderr and "Traceback" not in result.stderr


def test_load_takes_a_path(relu_model):
    """Anything but a path (bytes, an onnx.ModelProto, None, a number) is one ModelLoadError saying what load
    takes, not Python's TypeError from pathlib."""
    proto = onnx.load(str(relu_model))
    for not_a_path in (proto, proto.SerializeToString(), None, 3):
        with pytest.raises(ModelLoadError, match="give its path"):
            litert.load(not_a_path)  # type: ignore[arg-type]


def test_wrong_inputs(relu_model):
    session = litert.load(relu_model)
    with pytest.raises(InputError, match="dimension 1 must be 4"):
        session.predict([np.zeros((2, 5), np.float32)])
    with pytest.raises(InputError, match="expected rank 2"):
        session.predict([np.zeros((4,), np.float32)])
    with pytest.raises(InputError, match="expected dtype float32, got float64"):
        session.predict([np.zeros((2, 4))])
    with pytest.raises(InputError, match="missing input 'x'"):
        session.predict({})
    with pytest.raises(InputError, match="takes 1 input"):
        session.predict([])
    with pytest.raises(InputError, match="unknown input 'z'"):
        session.predict({"x": np.zeros((1, 4), np.float32), "z": 1})
    for not_inputs in (None, "x", 3):
        with pytest.raises(InputError, match="inputs are a dict of input name -> array or a list of arrays"):
            session.predict(not_inputs)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="input 'x' cannot be read as an array"):
        session.predict({"x": [[1.0, 2.0], [3.0]]})
    # fixed shapes, inputs by name (the usual call, checked against the declared types and shapes at once):
    # the same errors
    session.resize({"x": [1, 4]})
    with pytest.raises(InputError, match="dimension 1 must be 4"):
        session.predict({"x": np.zeros((1, 5), np.float32)})
    with pytest.raises(InputError, match="expected dtype float32, got float64"):
        session.predict({"x": np.zeros((1, 4))})
    with pytest.raises(InputError, match="unknown input 'z'"):
        session.predict({"z": np.zeros((1, 4), np.float32)})
    [y] = session.predict({"x": np.array([[-1, 2, -3, 4]], np.float32)})
    np.testing.assert_array_equal(y, [[0, 2, 0, 4]])


def test_cli_wrong_input_file(relu_model, tmp_path):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((1, 7), np.float32))
    result = _cli("run", "--model", str(relu_model), "--input", str(bad))
    assert result.returncode == 1
    assert "dimension 1 must be 4" in result.stderr and "Traceback" not in result.stderr
    missing = _cli("run", "--model", str(relu_model), "--input", str(tmp_path / "nope.npy"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
