"""onnxruntime's QOperator-format contrib ops (com.microsoft QGemm, QLinearAdd, ...) run in litert as in
onnxruntime: one node each on random data, then a model quantised by onnxruntime in QOperator format."""
from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import litert  # noqa: E402

MS = "com.microsoft"
RNG = np.random.default_rng(7)


def _q(name, dtype, scale, zero):
    return [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_s"),
            numpy_helper.from_array(np.array(zero, dtype), f"{name}_z")]


def _run_both(tmp_path, node, inputs, feeds, out_type, initializers):
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", out_type, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(MS, 1)])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    got = litert.load(path).predict(feeds)[0]
    return got, expected


@pytest.mark.parametrize("dtype, onnx_type", [(np.uint8, TensorProto.UINT8), (np.int8, TensorProto.INT8)])
@pytest.mark.parametrize("op, attrs, shapes", [
    ("QLinearAdd", {}, [(2, 3, 5, 7), (3, 1, 7)]),
    ("QLinearMul", {}, [(2, 3, 5, 7), (1, 5, 1)]),
    ("QLinearSigmoid", {}, [(3, 11)]),
    ("QLinearLeakyRelu", {"alpha": 0.1}, [(3, 11)]),
    ("QLinearGlobalAveragePool", {}, [(2, 5, 7, 3)]),
    ("QLinearAveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, [(1, 3, 9, 7)]),
    ("QLinearConcat", {"axis": 1}, [(2, 3, 4), (2, 5, 4)]),
])
def test_contrib_op_matches_onnxruntime(tmp_path, op, attrs, shapes, dtype, onnx_type):
    low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    feeds = {f"x{i}": RNG.integers(low, high + 1, shape).astype(dtype) for i, shape in enumerate(shapes)}
    inputs = [helper.make_tensor_value_info(name, onnx_type, a.shape) for name, a in feeds.items()]
    zero = 0 if dtype == np.int8 else 128
    inits = _q("x0", dtype, 0.05, zero + 3) + _q("x1", dtype, 0.02, zero - 5) + _q("y", dtype, 0.07, zero - 1)
    if op == "QLinearConcat":
        names = ["y_s", "y_z", "x0", "x0_s", "x0_z", "x1", "x1_s", "x1_z"]
    elif len(shapes) == 2:
        names = ["x0", "x0_s", "x0_z", "x1", "x1_s", "x1_z", "y_s", "y_z"]
    else:
        names = ["x0", "x0_s", "x0_z", "y_s", "y_z"]
    node = helper.make_node(op, names, ["y"], domain=MS, **attrs)
    got, expected = _run_both(tmp_path, node, inputs, feeds, onnx_type, inits)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    # onnxruntime computes sigmoid/leaky-relu/average through tables and fixed point: at most one step apart
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1


@pytest.mark.parametrize("quantised_output", [True, False])
def test_qgemm_matches_onnxruntime(tmp_path, quantised_output):
    a = RNG.integers(0, 256, (5, 13)).astype(np.uint8)
    b = RNG.integers(-127, 128, (7, 13)).astype(np.int8)  # transB
    bias = RNG.integers(-1000, 1000, 7).astype(np.int32)
    inits = [numpy_helper.from_array(b, "b"), numpy_helper.from_array(bias, "c"),
             numpy_helper.from_array(np.array(0.03, np.float32), "a_s"),
             numpy_helper.from_array(np.array(120, np.uint8), "a_z"),
             numpy_helper.from_array(RNG.uniform(0.01, 0.02, 7).astype(np.float32), "b_s"),
             numpy_helper.from_array(np.zeros(7, np.int8), "b_z"),
             numpy_helper.from_array(np.array(0.5, np.float32), "y_s"),
             numpy_helper.from_array(np.array(128, np.uint8), "y_z")]
    names = ["a", "a_s", "a_z", "b", "b_s", "b_z", "c"] + (["y_s", "y_z"] if quantised_output else [])
    node = helper.make_node("QGemm", names, ["y"], domain=MS, transB=1)
    out_type = TensorProto.UINT8 if quantised_output else TensorProto.FLOAT
    got, expected = _run_both(tmp_path, node, [helper.make_tensor_value_info("a", TensorProto.UINT8, a.shape)],
                              {"a": a}, out_type, inits)
    assert got.dtype == expected.dtype
    if quantised_output:
        assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("x_type", [np.uint8, np.int8])
@pytest.mark.parametrize("shape, kernel, attrs", [
    ((1, 3, 7, 9), (5, 3, 3, 3), {"pads": [1, 1, 1, 1]}),
    ((2, 4, 11, 6), (7, 4, 3, 2), {"strides": [2, 1], "pads": [0, 1, 2, 0]}),
    ((1, 2, 9, 9), (3, 2, 3, 3), {"dilations": [2, 2]}),
    ((1, 4, 6, 6), (4, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),   # grouped: the numpy path
])
def test_qlinearconv_matches_onnxruntime(tmp_path, x_type, shape, kernel, attrs):
    """QLinearConv with a constant per-channel int8 weight (native im2col + int8 GEMM when ungrouped)."""
    info = np.iinfo(x_type)
    x = RNG.integers(info.min, info.max + 1, shape).astype(x_type)
    w = RNG.integers(-127, 128, kernel).astype(np.int8)
    m = kernel[0]
    x_onnx = TensorProto.UINT8 if x_type == np.uint8 else TensorProto.INT8
    inits = [numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
             numpy_helper.from_array(np.array(info.min + 100, x_type), "xz"),
             numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(RNG.uniform(0.001, 0.01, m).astype(np.float32), "ws"),
             numpy_helper.from_array(np.zeros(m, np.int8), "wz"),
             numpy_helper.from_array(np.array(0.3, np.float32), "ys"),
             numpy_helper.from_array(np.array(info.min + 10, x_type), "yz"),
             numpy_helper.from_array(RNG.integers(-2000, 2000, m).astype(np.int32), "b")]
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"], **attrs)
    got, expected = _run_both(tmp_path, node, [helper.make_tensor_value_info("x", x_onnx, shape)], {"x": x},
                              x_onnx, inits)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.abs(got.astype(np.int32) - expected.astype(np.int32)).max() <= 1
