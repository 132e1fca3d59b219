"""QDQ folding: DequantizeLinear -> Conv/MatMul [-> Relu/Clip] -> QuantizeLinear becomes QLinearConv/QLinearMatMul
only when that is the same computation; either way the result is onnxruntime's."""
from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import litert  # noqa: E402

RNG = np.random.default_rng(3)


def _conv_model(path, *, y_zero=-128, relu=True, bias_scale_factor=1.0, op="Conv", clip=None):
    x_scale, w_scale = np.float32(0.02), RNG.uniform(0.005, 0.01, 6).astype(np.float32)
    if op == "Conv":
        w = RNG.integers(-127, 128, (6, 3, 3, 3)).astype(np.int8)
        axis = 0
    else:
        w = RNG.integers(-127, 128, (7, 6)).astype(np.int8)
        axis = 1
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("xs", np.array(x_scale)), ("xz", np.array(3, np.int8)), ("w", w), ("ws", w_scale),
        ("wz", np.zeros(6, np.int8)), ("b", RNG.integers(-500, 500, 6).astype(np.int32)),
        ("bs", (x_scale * w_scale * bias_scale_factor).astype(np.float32)), ("bz", np.zeros(6, np.int32)),
        ("ys", np.array(0.05, np.float32)), ("yz", np.array(y_zero, np.int8)),
        ("lo", np.array(clip[0] if clip else 0, np.float32)), ("hi", np.array(clip[1] if clip else 0, np.float32))]]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
             helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=axis)]
    if op == "Conv":
        nodes += [helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bf"], axis=0),
                  helper.make_node("Conv", ["xf", "wf", "bf"], ["c"], pads=[1, 1, 1, 1])]
        x_shape = (2, 3, 7, 5)
    else:
        nodes += [helper.make_node("MatMul", ["xf", "wf"], ["c"])]
        x_shape = (4, 7)
    tail = "c"
    if clip:
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["r"]))
        tail = "r"
    elif relu:
        nodes.append(helper.make_node("Relu", ["c"], ["r"]))
        tail = "r"
    nodes.append(helper.make_node("QuantizeLinear", [tail, "ys", "yz"], ["y"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.INT8, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]), str(path))
    return RNG.integers(-128, 128, x_shape).astype(np.int8)


@pytest.mark.parametrize("kwargs, folds_to", [
    ({}, "QLinearConv"),
    ({"relu": False, "y_zero": 5}, "QLinearConv"),
    ({"y_zero": 5}, None),                      # Relu is not saturation when the zero point is not -128
    ({"bias_scale_factor": 1.5}, None),         # a bias scale other than x_scale * w_scale
    ({"op": "MatMul", "relu": False}, "QLinearMatMul"),
    ({"clip": (0.0, 12.75)}, "QLinearConv"),    # ReLU6-style: 0 and 12.75 quantise to -128 and 127
    ({"clip": (-1.0, 20.0)}, "QLinearConv"),    # wider than the output range: saturation clips first
    ({"clip": (0.0, 6.0)}, None),               # 6 quantises to -8: the Clip does more than saturation
    ({"clip": (0.5, 12.75)}, None),             # 0.5 quantises above -128
])
def test_qdq_folds_only_when_exact(tmp_path, kwargs, folds_to):
    path = tmp_path / "m.onnx"
    x = _conv_model(path, **kwargs)
    session = litert.load(path)
    ops = [node.op_type for node in session.model.graph.nodes]
    if folds_to:
        assert ops == [folds_to]
    else:
        assert "QLinearConv" not in ops and "QuantizeLinear" in ops
    got = session.predict({"x": x})[0]
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert got.dtype == np.int8
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1
