"""nn kernels against onnxruntime on random configurations the ONNX
conformance cases do not cover (com.microsoft fused ops, pooling corner cases,
recurrent variants, transposed convs)."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

ort = pytest.importorskip("onnxruntime")
from kernel_harness import node_attrs  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

import litert_cpu.kernels  # noqa: E402,F401
from litert_cpu.kernels._base import KernelContext  # noqa: E402
from litert_cpu.kernels._registry import KERNELS  # noqa: E402

R = np.random.default_rng(7)


def rn(*shape):
    return R.standard_normal(shape).astype(np.float32)


def compare(op, inputs, consts=(), nout=1, domain="", opset=21, otypes=None, rtol=1e-4, atol=1e-4, **attrs):
    names = [f"i{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, [f"o{i}" for i in range(nout)], domain=domain, **attrs)
    otypes = otypes or [inputs[0].dtype] * nout
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for i, (n, a) in enumerate(zip(names, inputs)) if i not in consts],
        [helper.make_tensor_value_info(f"o{i}", helper.np_dtype_to_tensor_dtype(np.dtype(t)), None)
         for i, t in enumerate(otypes)],
        [numpy_helper.from_array(inputs[i], names[i]) for i in consts],
    )
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    sess = ort.InferenceSession(helper.make_model(graph, opset_imports=opsets).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    ref = sess.run(None, {n: a for i, (n, a) in enumerate(zip(names, inputs)) if i not in consts})
    full = dict(attrs) if domain else node_attrs(node, opset)
    ctx = KernelContext(op, domain=domain, opset=opset, num_outputs=nout,
                        consts=[inputs[i] if i in consts else None for i in range(len(inputs))])
    got = KERNELS[(domain, op)](full, ctx).run(*inputs)
    for g, r in zip(got, ref):
        assert g.dtype == r.dtype and g.shape == r.shape, (g.dtype, r.dtype, g.shape, r.shape)
        np.testing.assert_allclose(g.astype(np.float64), r.astype(np.float64), rtol=rtol, atol=atol)


@pytest.mark.parametrize("act,params", [("Relu", []), ("Tanh", []), ("Sigmoid", []), ("LeakyRelu", [0.2]),
                                        ("Clip", [-0.5, 0.7]), ("HardSigmoid", [0.3, 0.4])])
def test_fused_conv(act, params):
    extra = {"activation_params": params} if params else {}
    compare("FusedConv", [rn(1, 6, 9, 9), rn(8, 3, 3, 3), rn(8)], consts=[1, 2], domain="com.microsoft",
            activation=act, pads=[1, 1, 1, 1], group=2, **extra)


def test_fused_conv_with_sum():
    compare("FusedConv", [rn(1, 4, 7, 7), rn(5, 4, 3, 3), rn(5), rn(1, 5, 7, 7)], consts=[1, 2],
            domain="com.microsoft", activation="Relu", pads=[1, 1, 1, 1])


@pytest.mark.parametrize("act", ["Relu", "LeakyRelu", "Sigmoid", "Tanh"])
def test_fused_gemm(act):
    extra = {"activation_alpha": 0.3} if act == "LeakyRelu" else {}
    compare("FusedGemm", [rn(4, 16), rn(8, 16), rn(8)], consts=[1, 2], domain="com.microsoft",
            activation=act, transB=1, alpha=0.5, beta=2.0, **extra)


@pytest.mark.parametrize("shapes,attrs", [
    (((3, 4, 5, 6), (3, 4, 6, 5)), {"alpha": 2.0}),
    (((3, 4, 6, 5), (3, 4, 6, 5)), {"transA": 1}),
    (((3, 4, 5, 6), (3, 4, 5, 6)), {"transB": 1}),
    (((4, 3, 5, 6), (3, 5, 6, 7)), {"transBatchA": 1}),
    (((3, 5, 6), (7, 3, 6)), {"transBatchB": 1, "transB": 1}),
    (((6, 3, 5), (7, 3, 6)), {"transBatchA": 1, "transA": 1, "transBatchB": 1, "transB": 1, "alpha": 0.5}),
])
@pytest.mark.parametrize("const_b", [False, True])
def test_fused_matmul(shapes, attrs, const_b):
    compare("FusedMatMul", [rn(*shapes[0]), rn(*shapes[1])], consts=[1] if const_b else [],
            domain="com.microsoft", **attrs)


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [2, 3], "strides": [1, 2], "dilations": [2, 1], "pads": [0, 1, 1, 0]},
    {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"kernel_shape": [3, 3], "auto_pad": "SAME_LOWER"},
])
def test_max_pool_with_indices(attrs):
    compare("MaxPool", [rn(2, 3, 9, 10)], nout=2, otypes=[np.float32, np.int64], **attrs)


@pytest.mark.parametrize("include_pad", [0, 1])
@pytest.mark.parametrize("ceil", [0, 1])
def test_average_pool(include_pad, ceil):
    compare("AveragePool", [rn(2, 3, 9, 10)], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
            count_include_pad=include_pad, ceil_mode=ceil)


@pytest.mark.parametrize("attrs", [
    {"strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"strides": [2, 3], "output_padding": [1, 2], "group": 2},
    {"strides": [2, 2], "dilations": [2, 1], "pads": [0, 1, 2, 0]},
    {"strides": [2, 2], "output_shape": [12, 13]},
    {"strides": [2, 2], "auto_pad": "SAME_UPPER"},
])
def test_conv_transpose(attrs):
    compare("ConvTranspose", [rn(1, 4, 5, 6), rn(4, 3, 3, 3), rn(6 if attrs.get("group") == 2 else 3)],
            consts=[1, 2], **attrs)


@pytest.mark.parametrize("op", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_recurrent(op, direction):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    dirs = 2 if direction == "bidirectional" else 1
    hid, inp, seq, batch = 5, 3, 6, 4
    ins = [rn(seq, batch, inp), rn(dirs, gates * hid, inp), rn(dirs, gates * hid, hid), rn(dirs, 2 * gates * hid),
           np.array([6, 3, 1, 5], np.int32), rn(dirs, batch, hid)]
    nout = 2
    extra = {}
    if op == "LSTM":
        ins += [rn(dirs, batch, hid), rn(dirs, 3 * hid)]
        nout = 3
    if op == "GRU":
        extra["linear_before_reset"] = 1
    compare(op, ins, consts=[1, 2, 3], nout=nout, opset=22, hidden_size=hid, direction=direction, **extra)


def _check_resize(node, x, const):
    """The Resize kernel (opset 19) against onnxruntime, for ``node`` on ``x`` with its one constant input
    (``scales`` or ``sizes``, by name) and the other optional inputs omitted."""
    (name, value), = const.items()
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, x.shape)],
                              [helper.make_tensor_value_info("y", 1, None)], [numpy_helper.from_array(value, name)])
    sess = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
                                .SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x})[0]
    inputs = [value if n == name else None for n in node.input[1:]]
    got = KERNELS[("", "Resize")](node_attrs(node, 19), KernelContext("Resize", opset=19)).run(x, *inputs)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("coord", ["half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"])
def test_resize_sizes(mode, coord):
    x = rn(1, 2, 5, 7)
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode, coordinate_transformation_mode=coord)
    _check_resize(node, x, {"sizes": np.array([1, 2, 9, 4], np.int64)})


@pytest.mark.parametrize("mode", ["linear", "cubic"])
@pytest.mark.parametrize("antialias", [0, 1])
def test_resize_long_axes(mode, antialias):
    """Source axes past the dense-matrix limit take the gather path."""
    x = rn(1, 1, 200, 260)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode, antialias=antialias)
    _check_resize(node, x, {"scales": np.array([1, 1, 0.75, 1.25], np.float32)})
