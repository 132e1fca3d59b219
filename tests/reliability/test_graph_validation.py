"""Broken graphs are refused with a typed error, as onnxruntime refuses them; never run to a wrong result."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers.hostile import F, onnx_model, relu_chain, save
from onnx import TensorProto, helper

import litert
from litert.errors import ModelLoadError


def _refused(tmp_path, model, match):
    path = save(model, tmp_path / "broken.onnx")
    with pytest.raises(ModelLoadError, match=match):
        litert.load(path)


def test_cycle_is_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="n1"), helper.make_node("Relu", ["a"], ["b"], name="n2"),
             helper.make_node("Relu", ["a"], ["y"], name="n3")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "cycle")


def test_self_loop_is_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "y"], ["y"], name="n1")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "cycle")


def test_two_writers_are_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Neg", ["x"], ["y"], name="b")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "written by two nodes")


def test_overwriting_a_graph_input_is_refused(tmp_path):
    nodes = [helper.make_node("Neg", ["x"], ["x"], name="a"), helper.make_node("Relu", ["x"], ["y"], name="b")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "overwrites a graph input 'x'")


def test_node_without_outputs_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], [], name="mute"), helper.make_node("Relu", ["x"], ["y"], name="b")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "no outputs")


def test_undefined_input_and_output_are_refused(tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="a")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2])}), "'ghost', which nothing defines")
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="a")]
    _refused(tmp_path, onnx_model(nodes, {"x": (F, [2])}, {"y": (F, [2]), "z": (F, [2])}), "'z' is produced by no node")


def test_out_of_order_acyclic_graph_is_sorted_and_runs(tmp_path):
    nodes = [helper.make_node("Neg", ["h"], ["y"], name="second"), helper.make_node("Relu", ["x"], ["h"], name="first")]
    path = save(onnx_model(nodes, {"x": (F, [3])}, {"y": (F, [3])}), tmp_path / "unsorted.onnx")
    x = np.array([-1, 0, 2], np.float32)
    [y] = litert.load(path).predict([x])
    np.testing.assert_array_equal(y, -np.maximum(x, 0))


def test_names_that_are_not_utf8_are_refused(tmp_path):
    data = relu_chain(2).SerializeToString().replace(b"h0", b"\xff\xfe")
    path = tmp_path / "utf.onnx"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError, match="UTF-8"):
        litert.load(path)


def test_negative_declared_dim_does_not_abort_the_process(tmp_path):
    """onnx.shape_inference asserts (SIGABRT) on a Slice over a negative dim: run in a child to survive main."""
    starts = helper.make_tensor("st", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("en", TensorProto.INT64, [1], [2])
    model = onnx_model([helper.make_node("Slice", ["x", "st", "en"], ["y"], name="s")],
                       {"x": (F, [-3, 4])}, {"y": (F, None)}, [starts, ends], opset=13)
    path = save(model, tmp_path / "negative.onnx")
    code = ("import litert, numpy as np\n"
            f"m = litert.load({str(path)!r})\n"
            "print(m.predict([np.ones((3, 4), np.float32)])[0].shape)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "(2, 4)"


def test_negative_tensor_dims_are_refused(tmp_path):
    bad = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    bad.dims[0] = -2
    model = onnx_model([helper.make_node("Add", ["x", "w"], ["y"], name="a")], {"x": (F, [2])}, {"y": (F, [2])}, [bad])
    _refused(tmp_path, model, "negative dimensions")


@pytest.mark.parametrize("op, opset, inputs", [("Upsample", 7, ["x"]), ("Upsample", 9, ["x"]), ("Slice", 9, ["x"])])
def test_old_opset_node_missing_required_parts_is_typed(tmp_path, op, opset, inputs):
    model = onnx_model([helper.make_node(op, inputs, ["y"], name="old")], {"x": (F, [1, 1, 2, 2])}, {"y": (F, None)},
                       opset=opset)
    path = save(model, tmp_path / "old.onnx")
    with pytest.raises(litert.errors.LitertError):
        litert.load(path)


def test_negative_dims_inside_a_model_local_function_are_refused_before_inlining(tmp_path):
    from onnx import onnx_pb

    bad = helper.make_tensor("c", TensorProto.FLOAT, [2], [1.0, 2.0])
    bad.dims[0] = -2
    function = helper.make_function("local", "AddC", ["a"], ["b"],
                                    [helper.make_node("Constant", [], ["c"], value=bad),
                                     helper.make_node("Add", ["a", "c"], ["b"])],
                                    [helper.make_opsetid("", 17)])
    model = onnx_model([helper.make_node("AddC", ["x"], ["y"], name="f", domain="local")],
                       {"x": (F, [2])}, {"y": (F, [2])})
    model.opset_import.append(helper.make_opsetid("local", 1))
    model.functions.append(function)
    assert isinstance(model, onnx_pb.ModelProto)
    _refused(tmp_path, model, "negative dimensions")
