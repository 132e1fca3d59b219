"""Every upgrade adapter: an old-opset model, read + written back, computes what the original did.

The original runs on onnxruntime where it supports the old operator version;
otherwise a numpy reference gives the expected output.
"""
from __future__ import annotations

import numpy as np
import pytest
from formats_testlib import check_roundtrip, make_model, rand
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from litert_formats.onnx.upgrade import ADAPTERS

F = T.FLOAT
X4 = rand(2, 3, 4, 5)


def node(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, **attrs)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def unary(op, opset, attrs=None, x=X4, out_shape=None, out_type=F, extra_inits=(), extra_inputs=()):
    """One node reading ``x`` (plus constant inputs), one output."""
    n = node(op, ["x", *extra_inputs], ["y"], **(attrs or {}))
    model = make_model([n], [("x", F, list(x.shape))], [("y", out_type, out_shape)], opset, initializers=extra_inits)
    return model, {"x": x}


def softmax2d(x, axis, fn):
    flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
    return fn(flat).reshape(x.shape)


def _softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _hardmax(a):
    out = np.zeros_like(a)
    out[np.arange(a.shape[0]), a.argmax(axis=-1)] = 1
    return out


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ---------------------------------------------------------------- shape ops


@case
def reshape_v1():
    m, f = unary("Reshape", 4, {"shape": [2, -1, 5]})
    return m, f, [X4.reshape(2, -1, 5)]


@case
def squeeze_unsqueeze_v11():
    x = rand(2, 1, 3, 1)
    nodes = [node("Squeeze", ["x"], ["s"], axes=[1, -1]), node("Unsqueeze", ["s"], ["y"], axes=[0, 3])]
    return make_model(nodes, [("x", F, [2, 1, 3, 1])], [("y", F, None)], 11), {"x": x}, None


@case
def squeeze_all_v9():
    x = rand(1, 3, 1)
    return (*unary("Squeeze", 9, x=x), None)


@case
def slice_v9():
    return (*unary("Slice", 9, {"starts": [1, 0, -3], "ends": [3, 100, -1], "axes": [1, 3, 2]}), None)


@case
def slice_v1_no_axes():
    return (*unary("Slice", 7, {"starts": [1, 1], "ends": [2, 3]}), None)


@case
def split_attr_v11():
    n = node("Split", ["x"], ["a", "b"], axis=3, split=[2, 3])
    return make_model([n], [("x", F, [2, 3, 4, 5])], [("a", F, None), ("b", F, None)], 11), {"x": X4}, None


@case
def split_equal_v11():
    n = node("Split", ["x"], ["a", "b"], axis=2)
    return make_model([n], [("x", F, [2, 3, 4, 5])], [("a", F, None), ("b", F, None)], 11), {"x": X4}, None


@case
def split_equal_v13():
    n = node("Split", ["x"], ["a", "b", "c"], axis=1)
    outs = [("a", F, None), ("b", F, None), ("c", F, None)]
    return make_model([n], [("x", F, [2, 3, 4, 5])], outs, 13), {"x": X4}, None


@case
def split_v1_input():
    n = node("Split", ["x", "s"], ["a", "b"], axis=1)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("a", F, None), ("b", F, None)], 1,
                   initializers=[init("s", np.array([1, 2], np.int64))])
    return m, {"x": X4}, [X4[:, :1], X4[:, 1:]]


@case
def split_v1_default_axis():
    n = node("Split", ["x"], ["a", "b"], split=[1, 1])
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("a", F, None), ("b", F, None)], 1)
    return m, {"x": X4}, [X4[:1], X4[1:]]


@case
def tile_v1():
    n = node("Tile", ["x", "t", "a"], ["y"])
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 1,
                   initializers=[init("t", np.array([3], np.int64)), init("a", np.array([2], np.int64))])
    return m, {"x": X4}, [np.tile(X4, (1, 1, 3, 1))]


@case
def concat_v1_default_axis():
    n = node("Concat", ["x", "x"], ["y"])
    return make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 1), {"x": X4}, [np.concatenate([X4, X4], 1)]


@case
def pad_v2():
    m, f = unary("Pad", 2, {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "value": 1.5})
    return m, f, [np.pad(X4, [(0, 0), (0, 0), (1, 2), (2, 1)], constant_values=1.5)]


@case
def pad_v1_paddings():
    m, f = unary("Pad", 1, {"paddings": [0, 0, 1, 1, 0, 0, 1, 1]})
    return m, f, [np.pad(X4, [(0, 0), (0, 0), (1, 1), (1, 1)])]


@case
def pad_reflect_v9():
    return (*unary("Pad", 9, {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "mode": "reflect"}), None)


@case
def pad_edge_v10():
    return (*unary("Pad", 10, {"pads": [0, 1, 0, 1, 0, 0, 2, 0], "mode": "edge"}), None)


@case
def clip_v6():
    return (*unary("Clip", 6, {"min": -0.5, "max": 0.7}), None)


@case
def clip_v6_max_only():
    return (*unary("Clip", 6, {"max": 0.2}), None)


@case
def clip_v1():
    m, f = unary("Clip", 1, {"min": -0.1})
    return m, f, [np.maximum(X4, np.float32(-0.1))]


@case
def topk_v9():
    n = node("TopK", ["x"], ["v", "i"], k=3, axis=2)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("v", F, None), ("i", T.INT64, None)], 9)
    return m, {"x": X4}, None


@case
def reducesum_v11():
    return (*unary("ReduceSum", 11, {"axes": [1, -1], "keepdims": 0}), None)


@case
def reducesum_all_v12():
    return (*unary("ReduceSum", 12, {}), None)


@case
def reducemean_v13():
    return (*unary("ReduceMean", 13, {"axes": [2]}), None)


@case
def reduce_family_v17():
    x = np.abs(X4) + 0.1
    ops = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMin", "ReduceProd",
           "ReduceSumSquare"]
    nodes = [node(op, ["x"], [f"y{i}"], axes=[1, 3], keepdims=i % 2) for i, op in enumerate(ops)]
    outs = [(f"y{i}", F, None) for i in range(len(ops))]
    return make_model(nodes, [("x", F, [2, 3, 4, 5])], outs, 17), {"x": x}, None


@case
def cast_v1_string():
    m, f = unary("Cast", 1, {"to": "INT32"}, out_type=T.INT32)
    return m, f, [(X4 * 3).astype(np.int32) * 0 + X4.astype(np.int32)]


@case
def dft_v17():
    x = rand(2, 8, 1)
    return (*unary("DFT", 17, {"axis": 1}, x=x), None)


# ---------------------------------------------------------------- broadcasting


@case
def legacy_broadcast_axis_const_v6():
    b = rand(3, 4, seed=3)
    n = node("Add", ["x", "b"], ["y"], broadcast=1, axis=1)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 6, initializers=[init("b", b)])
    return m, {"x": X4}, [X4 + b[None, :, :, None]]


@case
def legacy_broadcast_axis_input_v6():
    b = rand(3, seed=4)
    n = node("Mul", ["x", "b"], ["y"], broadcast=1, axis=1)
    m = make_model([n], [("x", F, [2, 3, 4, 5]), ("b", F, [3])], [("y", F, None)], 6)
    return m, {"x": X4, "b": b}, [X4 * b[None, :, None, None]]


@case
def legacy_broadcast_suffix_v1():
    b = rand(5, seed=5)
    n = node("Sub", ["x", "b"], ["y"], broadcast=1)
    m = make_model([n], [("x", F, [2, 3, 4, 5]), ("b", F, [5])], [("y", F, None)], 1)
    return m, {"x": X4, "b": b}, [X4 - b]


@case
def legacy_broadcast_compare_v1():
    b = rand(2, 3, seed=6)
    n = node("Greater", ["x", "b"], ["y"], broadcast=1, axis=0)
    m = make_model([n], [("x", F, [2, 3, 4, 5]), ("b", F, [2, 3])], [("y", T.BOOL, None)], 1)
    return m, {"x": X4, "b": b}, [b[:, :, None, None] < X4]


@case
def prelu_v6_per_channel():
    x, slope = rand(2, 3, 4, 5, seed=3), rand(3, seed=4)
    n = node("PRelu", ["x", "slope"], ["y"])
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 6, initializers=[init("slope", slope)])
    return m, {"x": x}, [np.where(x < 0, x * slope[None, :, None, None], x)]


@case
def gemm_v6_broadcast():
    a, bm, c = rand(3, 4), rand(4, 5, seed=1), rand(5, seed=2)
    n = node("Gemm", ["a", "b", "c"], ["y"], broadcast=1, alpha=0.5, transB=0)
    m = make_model([n], [("a", F, [3, 4])], [("y", F, None)], 6, initializers=[init("b", bm), init("c", c)])
    return m, {"a": a}, [0.5 * a @ bm + c]


# ---------------------------------------------------------------- normalisation / dropout


def _bn_params(c=3, seed=7):
    r = np.random.default_rng(seed)
    return [r.standard_normal(c).astype(np.float32), r.standard_normal(c).astype(np.float32),
            r.standard_normal(c).astype(np.float32), (r.random(c) + 0.5).astype(np.float32)]


@case
def batchnorm_v7():
    names = ["s", "b", "m", "v"]
    n = node("BatchNormalization", ["x", *names], ["y"], epsilon=1e-3)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 7,
                   initializers=[init(k, p) for k, p in zip(names, _bn_params())])
    return m, {"x": X4}, None


@case
def batchnorm_v6_is_test():
    names = ["s", "b", "m", "v"]
    s, b, mu, v = _bn_params()
    n = node("BatchNormalization", ["x", *names], ["y"], is_test=1, epsilon=1e-3)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 6,
                   initializers=[init(k, p) for k, p in zip(names, (s, b, mu, v))])
    c = (slice(None), None, None)
    ref = (X4 - mu[c]) / np.sqrt(v[c] + 1e-3) * s[c] + b[c]
    return m, {"x": X4}, [ref]


@case
def batchnorm_spatial0_v7():
    names = ["s", "b", "m", "v"]
    params = [p.reshape(3, 1, 1) * np.ones((3, 4, 5), np.float32) for p in _bn_params()]
    s, b, mu, v = params
    n = node("BatchNormalization", ["x", *names], ["y"], spatial=0, epsilon=1e-3)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None)], 7,
                   initializers=[init(k, p) for k, p in zip(names, params)])
    return m, {"x": X4}, [(X4 - mu) / np.sqrt(v + 1e-3) * s + b]


@case
def batchnorm_spatial0_dynamic_v7():
    names = ["s", "b", "m", "v"]
    x = rand(4, 6)
    s, b, mu, v = _bn_params(6)
    n = node("BatchNormalization", ["x", *names], ["y"], spatial=0)
    inputs = [("x", F, [4, 6])] + [(k, F, [6]) for k in names]
    m = make_model([n], inputs, [("y", F, None)], 7)
    feeds = {"x": x, "s": s, "b": b, "m": mu, "v": v}
    return m, feeds, [(x - mu) / np.sqrt(v + 1e-5) * s + b]


@case
def groupnorm_v18():
    x = rand(2, 6, 3, 3)
    scale, bias = np.array([1.5, -0.5, 2.0], np.float32), np.array([0.1, 0.2, 0.3], np.float32)
    n = node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3, epsilon=1e-5)
    m = make_model([n], [("x", F, [2, 6, 3, 3])], [("y", F, None)], 18,
                   initializers=[init("s", scale), init("b", bias)])
    g = x.reshape(2, 3, -1)
    norm = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(2, 3, 2, 3, 3)
    ref = (norm * scale[None, :, None, None, None] + bias[None, :, None, None, None]).reshape(x.shape)
    return m, {"x": x}, [ref]


@case
def groupnorm_v18_dynamic():
    x = rand(2, 6, 3, 3)
    scale, bias = np.array([1.5, -0.5], np.float32), np.array([0.1, 0.2], np.float32)
    n = node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2)
    m = make_model([n], [("x", F, ["N", 6, 3, 3]), ("s", F, [2]), ("b", F, [2])], [("y", F, None)], 18)
    g = x.reshape(2, 2, -1)
    norm = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(2, 2, 3, 3, 3)
    ref = (norm * scale[None, :, None, None, None] + bias[None, :, None, None, None]).reshape(x.shape)
    return m, {"x": x, "s": scale, "b": bias}, [ref]


@case
def dropout_v7_mask():
    n = node("Dropout", ["x"], ["y", "mask"], ratio=0.3)
    m = make_model([n], [("x", F, [2, 3, 4, 5])], [("y", F, None), ("mask", F, None)], 7)
    return m, {"x": X4}, [X4, np.ones_like(X4)]


@case
def dropout_v6_is_test():
    m, f = unary("Dropout", 6, {"is_test": 1, "ratio": 0.2})
    return m, f, [X4]


@case
def dropout_v11_ratio():
    return (*unary("Dropout", 11, {"ratio": 0.2}), None)


@case
def softmax_v11_axis1():
    return (*unary("Softmax", 11, {"axis": 1}), None)


@case
def softmax_v9_default_axis():
    return (*unary("Softmax", 9, {}), None)


@case
def softmax_v1_default_axis():
    m, f = unary("Softmax", 1, {})
    return m, f, [softmax2d(X4, 1, _softmax)]


@case
def logsoftmax_v11_axis2():
    return (*unary("LogSoftmax", 11, {"axis": 2}), None)


@case
def softmax_v11_last_axis():
    return (*unary("Softmax", 11, {"axis": 3}), None)


@case
def softmax_v11_trailing_ones():
    x = rand(2, 5, 1, 1)
    return (*unary("Softmax", 11, {"axis": 1}, x=x), None)


@case
def hardmax_v11_axis_neg2():
    return (*unary("Hardmax", 11, {"axis": -2}), None)


@case
def softmax_v11_symbolic_shape():
    n = node("Softmax", ["x"], ["y"], axis=2)
    m = make_model([n], [("x", F, ["N", 3, "H", 5])], [("y", F, None)], 11)
    return m, {"x": X4}, None


@case
def hardmax_v1():
    m, f = unary("Hardmax", 1, {"axis": 2})
    return m, f, [softmax2d(X4, 2, _hardmax)]


# ---------------------------------------------------------------- resize family


X_IMG = rand(1, 2, 3, 4)


@case
def upsample_v7_nearest():
    return (*unary("Upsample", 7, {"scales": [1.0, 1.0, 2.0, 3.0]}, x=X_IMG), None)


@case
def upsample_v7_linear():
    return (*unary("Upsample", 7, {"scales": [1.0, 1.0, 2.0, 2.5], "mode": "linear"}, x=X_IMG), None)


@case
def upsample_v9_input():
    s = init("s", np.array([1.0, 1.0, 2.0, 2.0], np.float32))
    return (*unary("Upsample", 9, {"mode": "nearest"}, x=X_IMG, extra_inits=[s], extra_inputs=["s"]), None)


@case
def upsample_v1():
    m, f = unary("Upsample", 1, {"height_scale": 2.0, "width_scale": 2.0}, x=X_IMG)
    return m, f, [X_IMG.repeat(2, axis=2).repeat(2, axis=3)]


@case
def upsample_v10_deprecated():
    s = init("s", np.array([1.0, 1.0, 2.0, 3.0], np.float32))
    m, f = unary("Upsample", 10, {"mode": "nearest"}, x=X_IMG, extra_inits=[s], extra_inputs=["s"])
    return m, f, [X_IMG.repeat(2, axis=2).repeat(3, axis=3)]


@case
def resize_v10_nearest_up():
    s = init("s", np.array([1.0, 1.0, 1.5, 2.5], np.float32))
    return (*unary("Resize", 10, {"mode": "nearest"}, x=X_IMG, extra_inits=[s], extra_inputs=["s"]), None)


@case
def resize_v10_nearest_down():
    x = rand(1, 2, 7, 9)
    s = init("s", np.array([1.0, 1.0, 0.6, 0.45], np.float32))
    return (*unary("Resize", 10, {"mode": "nearest"}, x=x, extra_inits=[s], extra_inputs=["s"]), None)


@case
def resize_v10_linear():
    s = init("s", np.array([1.0, 1.0, 2.0, 1.5], np.float32))
    return (*unary("Resize", 10, {"mode": "linear"}, x=X_IMG, extra_inits=[s], extra_inputs=["s"]), None)


@case
def resize_v11_sizes():
    inits = [init("roi", np.zeros(0, np.float32)), init("sc", np.zeros(0, np.float32)),
             init("sz", np.array([1, 2, 5, 7], np.int64))]
    return (*unary("Resize", 11, {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
                   x=X_IMG, extra_inits=inits, extra_inputs=["roi", "sc", "sz"]), None)


@case
def resize_v11_tf_half_pixel_floor():
    inits = [init("roi", np.zeros(0, np.float32)), init("sc", np.array([1, 1, 2.5, 1.7], np.float32))]
    attrs = {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn", "nearest_mode": "floor"}
    return (*unary("Resize", 11, attrs, x=X_IMG, extra_inits=inits, extra_inputs=["roi", "sc"]), None)


@case
def resize_v11_tf_half_pixel_round():
    inits = [init("roi", np.zeros(0, np.float32)), init("sc", np.array([1, 1, 2.5, 0.6], np.float32))]
    attrs = {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn"}
    x = rand(1, 2, 5, 9)
    return (*unary("Resize", 11, attrs, x=x, extra_inits=inits, extra_inputs=["roi", "sc"]), None)


@case
def gridsample_v16():
    x = rand(1, 2, 4, 5)
    grid = (np.random.default_rng(3).random((1, 3, 2, 2)) * 2.2 - 1.1).astype(np.float32)
    n = node("GridSample", ["x", "g"], ["y"], mode="bilinear", align_corners=0)
    m = make_model([n], [("x", F, [1, 2, 4, 5]), ("g", F, [1, 3, 2, 2])], [("y", F, None)], 16)
    return m, {"x": x, "g": grid}, None


@case
def roialign_v10():
    x = rand(1, 2, 8, 8)
    rois = np.array([[0.5, 1.0, 5.5, 6.0], [2.0, 2.0, 7.0, 4.5]], np.float32)
    n = node("RoiAlign", ["x", "r", "i"], ["y"], output_height=2, output_width=3, sampling_ratio=2, spatial_scale=1.0)
    m = make_model([n], [("x", F, [1, 2, 8, 8])], [("y", F, None)], 10,
                   initializers=[init("r", rois), init("i", np.zeros(2, np.int64))])
    return m, {"x": x}, None


# ---------------------------------------------------------------- pooling, misc


@case
def lppool_v1_float_p():
    x = np.abs(X_IMG)
    m, f = unary("LpPool", 1, {"kernel_shape": [3, 4], "p": 2.0}, x=x)
    return m, f, [np.sqrt((x**2).sum(axis=(2, 3), keepdims=True))]


@case
def globallppool_v1_float_p():
    x = np.abs(X_IMG)
    m, f = unary("GlobalLpPool", 1, {"p": 3.0}, x=x)
    return m, f, [np.cbrt((x**3).sum(axis=(2, 3), keepdims=True))]


@case
def scatter_v9():
    data = rand(3, 4)
    idx = np.array([[1, 0, 2, 0], [0, 2, 1, 1]], np.int64)
    upd = rand(2, 4, seed=9)
    n = node("Scatter", ["x", "i", "u"], ["y"], axis=0)
    m = make_model([n], [("x", F, [3, 4])], [("y", F, None)], 9, initializers=[init("i", idx), init("u", upd)])
    return m, {"x": data}, None


@case
def scatter_v11_deprecated():
    data = rand(3, 4)
    idx = np.array([[1, 0, 2, 0], [0, 2, 1, 1]], np.int64)
    upd = rand(2, 4, seed=9)
    n = node("Scatter", ["x", "i", "u"], ["y"], axis=0)
    m = make_model([n], [("x", F, [3, 4])], [("y", F, None)], 11, initializers=[init("i", idx), init("u", upd)])
    ref = data.copy()
    for r in range(2):
        ref[idx[r], np.arange(4)] = upd[r]
    return m, {"x": data}, [ref]


@case
def image_scaler_v7():
    bias = [0.5, -1.0]
    m, f = unary("ImageScaler", 7, {"scale": 2.0, "bias": bias}, x=X_IMG)
    return m, f, [X_IMG * 2 + np.array(bias, np.float32)[None, :, None, None]]


@case
def experimental_ops_v7():
    x = X4
    nodes = [
        node("Affine", ["x"], ["a"], alpha=2.0, beta=0.5),
        node("ScaledTanh", ["a"], ["b"], alpha=1.5, beta=0.5),
        node("ParametricSoftplus", ["b"], ["c"], alpha=0.7, beta=1.3),
        node("Scale", ["c"], ["d"], scale=3.0),
        node("ThresholdedRelu", ["d"], ["y"], alpha=0.9),
    ]
    m = make_model(nodes, [("x", F, [2, 3, 4, 5])], [("y", F, None)], 7)
    a = 2 * x + 0.5
    b = 1.5 * np.tanh(0.5 * a)
    c = 0.7 * np.log1p(np.exp(1.3 * b))
    d = 3 * c
    return m, {"x": x}, [np.where(d > 0.9, d, 0).astype(np.float32)]


@case
def dynamic_slice_v7():
    inits = [init("s", np.array([1, 0], np.int64)), init("e", np.array([3, 2], np.int64)),
             init("a", np.array([2, 3], np.int64))]
    m, f = unary("DynamicSlice", 7, {}, extra_inits=inits, extra_inputs=["s", "e", "a"])
    return m, f, [X4[:, :, 1:3, 0:2]]


@case
def thresholded_relu_v10_standard():
    return (*unary("ThresholdedRelu", 10, {"alpha": 0.3}), None)


@case
def selu_v1_old_defaults():
    m, f = unary("Selu", 1, {})
    alpha, gamma = 1.6732000112533569, 1.0506999492645264
    return m, f, [np.where(X4 > 0, gamma * X4, gamma * alpha * (np.exp(X4) - 1)).astype(np.float32)]


@case
def scan_v8_batch1():
    body = helper.make_graph(
        [node("Add", ["s_in", "x_t"], ["s_out"]), node("Mul", ["s_out", "x_t"], ["y_t"])],
        "body", [helper.make_tensor_value_info("s_in", F, [3]), helper.make_tensor_value_info("x_t", F, [3])],
        [helper.make_tensor_value_info("s_out", F, [3]), helper.make_tensor_value_info("y_t", F, [3])],
    )
    n = node("Scan", ["", "s0", "xs"], ["s_final", "ys"], num_scan_inputs=1, body=body, directions=[1])
    m = make_model([n], [("s0", F, [1, 3]), ("xs", F, [1, 4, 3])], [("s_final", F, None), ("ys", F, None)], 8)
    return m, {"s0": rand(1, 3), "xs": rand(1, 4, 3, seed=2)}, None


@pytest.mark.parametrize("name", sorted(CASES))
def test_adapter_case(name, tmp_path):
    model, feeds, reference = CASES[name]()
    check_roundtrip(model, feeds, tmp_path, reference=reference, rtol=1e-4, atol=1e-5)


def test_softmax_single_node_when_trailing_dims_are_one(tmp_path):
    from formats_testlib import load

    model, _, _ = CASES["softmax_v11_trailing_ones"]()
    ir = load(model, tmp_path)
    assert [(n.op_type, n.attrs["axis"]) for n in ir.graph.nodes] == [("Softmax", 1)]


def test_written_model_is_latest_form(tmp_path):
    """After reading, no node keeps an attribute its latest schema lacks, and the opset is the latest."""
    from formats_testlib import load

    from litert.schema import schemas

    for name in ("slice_v9", "pad_v2", "clip_v6", "softmax_v11_axis1", "upsample_v7_nearest", "batchnorm_v6_is_test"):
        model, _, _ = CASES[name]()
        ir = load(model, tmp_path)
        assert ir.metadata["source_opset"] == str(model.opset_import[0].version)
        for n in ir.graph.nodes:
            latest = schemas().latest(n.domain, n.op_type)
            assert set(n.attrs) <= set(latest.attrs), (name, n.op_type, n.attrs)


def test_every_adapter_has_a_case():
    covered = {
        "Reshape": "reshape_v1", "Squeeze": "squeeze_unsqueeze_v11", "Unsqueeze": "squeeze_unsqueeze_v11",
        "Slice": "slice_v9", "Split": "split_attr_v11", "Tile": "tile_v1", "Concat": "concat_v1_default_axis",
        "Pad": "pad_v2", "Clip": "clip_v6", "TopK": "topk_v9", "ReduceSum": "reducesum_v11",
        "Cast": "cast_v1_string", "DFT": "dft_v17", "Gemm": "gemm_v6_broadcast", "PRelu": "prelu_v6_per_channel",
        "BatchNormalization": "batchnorm_v7", "GroupNormalization": "groupnorm_v18", "Dropout": "dropout_v7_mask",
        "Softmax": "softmax_v11_axis1", "LogSoftmax": "logsoftmax_v11_axis2", "Hardmax": "hardmax_v1",
        "Upsample": "upsample_v7_nearest", "Resize": "resize_v10_linear", "GridSample": "gridsample_v16",
        "RoiAlign": "roialign_v10", "LpPool": "lppool_v1_float_p", "GlobalLpPool": "globallppool_v1_float_p",
        "Scan": "scan_v8_batch1", "Scatter": "scatter_v9", "GRU": None,
        **{op: "legacy_broadcast_axis_const_v6" for op in ("Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor",
                                                             "Equal", "Greater", "Less")},
        **{op: "reduce_family_v17" for op in ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                              "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare")},
    }
    for op, _version in ADAPTERS:
        assert op in covered, op
        assert covered[op] is None or covered[op] in CASES
