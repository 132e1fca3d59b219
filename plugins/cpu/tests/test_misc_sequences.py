"""Sequence, optional, SequenceMap, optimizer and FlexAttention kernels.

Sequence models run end to end through litert against onnxruntime (which
returns sequence outputs as lists); optimizer and FlexAttention kernels are
checked against onnx's reference evaluator on cases the node tests miss.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx.reference import ReferenceEvaluator

import litert
import litert_cpu.kernels  # noqa: F401
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS

F = T.FLOAT
vi = h.make_tensor_value_info
RNG = np.random.default_rng(0)


def _seq_vi(name):
    return h.make_tensor_sequence_value_info(name, F, None)


def _compare(got, ref):
    if isinstance(ref, list):
        assert isinstance(got, list) and len(got) == len(ref)
        for g, r in zip(got, ref):
            _compare(g, r)
        return
    assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape, got.dtype, ref.dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def _check_vs_ort(nodes, inputs, outputs, feeds, tmp_path, inits=(), opset=21, optimize="general"):
    model = h.make_model(h.make_graph(nodes, "g", inputs, outputs, list(inits)), opset_imports=[h.make_opsetid("", opset)])
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    onnx.save(model, tmp_path / "m.onnx")
    got = litert.load(tmp_path / "m.onnx", optimize=optimize).predict(feeds)
    _compare(list(got), list(ref))
    return got


@pytest.mark.parametrize(
    "split,axis,keepdims",
    [(None, 0, 1), (None, 1, 0), (None, -1, 1), (np.array(2, np.int64), 1, 1), (np.array(4, np.int64), 1, 1),
     (np.array(4, np.int64), -1, 1), (np.array([1, 3, 1], np.int64), 1, 1), (np.array([2, 0, 1], np.int64), 0, 1)],
)
def test_split_to_sequence_and_back(split, axis, keepdims, tmp_path):
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    ins = ["x"] if split is None else ["x", "split"]
    nodes = [
        h.make_node("SplitToSequence", ins, ["seq"], axis=axis, keepdims=keepdims),
        h.make_node("SequenceLength", ["seq"], ["n"]),
        h.make_node("ConcatFromSequence", ["seq"], ["back"], axis=axis, new_axis=int(split is None and not keepdims)),
    ]
    inits = [] if split is None else [onnx.numpy_helper.from_array(split, "split")]
    _check_vs_ort(nodes, [vi("x", F, [3, 5, 2])], [_seq_vi("seq"), vi("n", T.INT64, []), vi("back", F, None)],
                  {"x": x}, tmp_path, inits)


def test_split_to_sequence_ignores_keepdims_with_split():
    """Spec: keepdims applies only without ``split`` (onnxruntime squeezes anyway)."""
    kern = KERNELS[("", "SplitToSequence")]({"axis": 1, "keepdims": 0}, KernelContext("SplitToSequence"))
    (seq,) = kern.run(np.zeros((3, 5, 2), np.float32), np.array(4, np.int64))
    assert [p.shape for p in seq] == [(3, 4, 2), (3, 1, 2)]


def test_sequence_positions_and_no_aliasing(tmp_path):
    """Negative positions, defaults, and an input sequence read by two inserts."""
    nodes = [
        h.make_node("SequenceConstruct", ["a", "b", "c"], ["s"]),
        h.make_node("SequenceInsert", ["s", "d", "neg1"], ["s1"]),   # before the last
        h.make_node("SequenceInsert", ["s", "a"], ["s2"]),           # at the back; s must stay unchanged
        h.make_node("SequenceErase", ["s1", "neg3"], ["s3"]),
        h.make_node("SequenceErase", ["s2"], ["s4"]),                # default: the last
        h.make_node("SequenceAt", ["s3", "neg1"], ["last"]),
        h.make_node("SequenceLength", ["s"], ["n"]),
        h.make_node("ConcatFromSequence", ["s4"], ["stacked"], axis=-1, new_axis=1),
        h.make_node("SequenceEmpty", [], ["e"]),
        h.make_node("SequenceInsert", ["e", "c", "zero"], ["e1"]),
    ]
    inits = [h.make_tensor("neg1", T.INT64, [], [-1]), h.make_tensor("neg3", T.INT32, [], [-3]),
             h.make_tensor("zero", T.INT64, [], [0])]
    feeds = {k: RNG.standard_normal((2, 3)).astype(np.float32) for k in "abcd"}
    _check_vs_ort(nodes, [vi(k, F, [2, 3]) for k in "abcd"],
                  [_seq_vi("s1"), _seq_vi("s3"), _seq_vi("s4"), vi("last", F, None), vi("n", T.INT64, []),
                   vi("stacked", F, None), _seq_vi("e1")],
                  feeds, tmp_path, inits)


def test_sequence_map_with_tensor_and_sequence_inputs(tmp_path):
    body = h.make_graph(
        [h.make_node("Mul", ["x", "t"], ["m"]), h.make_node("Add", ["m", "y"], ["o1"]), h.make_node("Shape", ["x"], ["o2"])],
        "body", [vi("x", F, None), vi("y", F, None), vi("t", F, None)], [vi("o1", F, None), vi("o2", T.INT64, [1])],
    )
    nodes = [
        h.make_node("SplitToSequence", ["x", "sizes"], ["sx"]),
        h.make_node("SplitToSequence", ["y", "sizes"], ["sy"]),
        h.make_node("SequenceMap", ["sx", "sy", "t"], ["r1", "r2"], body=body),
    ]
    x, y = (RNG.standard_normal(6).astype(np.float32) for _ in range(2))
    seqs = [h.make_tensor_sequence_value_info(n, dt, None) for n, dt in (("r1", F), ("r2", T.INT64))]
    _check_vs_ort(nodes, [vi("x", F, [6]), vi("y", F, [6]), vi("t", F, [])], seqs,
                  {"x": x, "y": y, "t": np.array(3, np.float32)}, tmp_path,
                  [h.make_tensor("sizes", T.INT64, [3], [1, 2, 3])])


@pytest.mark.parametrize("optimize", [
    "none",
    "general",
])
def test_optional_ops(optimize, tmp_path):
    opt_type = h.make_tensor_type_proto(F, [2])
    nodes = [
        h.make_node("Optional", [], ["none"], type=opt_type),
        h.make_node("Optional", ["x"], ["some"]),
        h.make_node("OptionalHasElement", ["none"], ["has_none"]),
        h.make_node("OptionalHasElement", ["some"], ["has_some"]),
        h.make_node("OptionalGetElement", ["some"], ["back"]),
    ]
    x = np.array([1, 2], np.float32)
    got = _check_vs_ort(nodes, [vi("x", F, [2])], [vi("has_none", T.BOOL, []), vi("has_some", T.BOOL, []), vi("back", F, [2])],
                        {"x": x}, tmp_path, optimize=optimize)
    assert got[0].shape == () and not got[0] and got[1]


# -- optimizers and FlexAttention vs onnx's reference evaluator ---------------------------------

def _kernel(op, domain, attrs, n_out):
    schema = onnx.defs.get_schema(op, 1, domain)
    full = {n: h.get_attribute_value(a.default_value) for n, a in schema.attributes.items() if a.default_value.type}
    full = {n: v.decode() if isinstance(v, bytes) else v for n, v in full.items()}
    full.update(attrs)
    return KERNELS[(domain, op)](full, KernelContext(op, domain, num_outputs=n_out))


@pytest.mark.parametrize(
    "op,attrs,states",
    [
        ("Adam", {"alpha": 0.8, "beta": 0.7, "epsilon": 1e-3, "norm_coefficient": 0.01, "norm_coefficient_post": 0.05}, 2),
        ("Momentum", {"alpha": 0.9, "beta": 0.5, "mode": "standard", "norm_coefficient": 0.02}, 1),
        ("Momentum", {"alpha": 0.9, "beta": 0.5, "mode": "nesterov", "norm_coefficient": 0.02}, 1),
        ("Adagrad", {"decay_factor": 0.2, "epsilon": 1e-4, "norm_coefficient": 0.03}, 1),
    ],
)
@pytest.mark.parametrize("t", [0, 3])
def test_optimizers_vs_reference(op, attrs, states, t):
    domain = "ai.onnx.preview.training"
    shapes = [(3,), (2, 2)]
    r, tt = np.array(0.1, np.float32), np.array(t, np.int64)
    xs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    gs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    sts = [np.abs(RNG.standard_normal(s)).astype(np.float32) for _ in range(states) for s in shapes]
    names = ["R", "T"] + [f"i{k}" for k in range(len(xs) + len(gs) + len(sts))]
    n_out = len(shapes) * (1 + states)
    outs = [f"o{k}" for k in range(n_out)]
    node = h.make_node(op, names, outs, domain=domain, **attrs)
    feeds = dict(zip(names, [r, tt, *xs, *gs, *sts]))
    graph = h.make_graph([node], "g", [vi(n, h.np_dtype_to_tensor_dtype(v.dtype), v.shape) for n, v in feeds.items()],
                         [vi(o, F, None) for o in outs])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 21), h.make_opsetid(domain, 1)])
    ref = ReferenceEvaluator(model).run(None, feeds)
    got = _kernel(op, domain, attrs, n_out).run(r, tt, *xs, *gs, *sts)
    assert len(got) == n_out
    for g, e in zip(got, ref):
        assert g.dtype == np.float32 and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_flex_attention_gqa_vs_repeat(dtype):
    """GQA by broadcasting matches the repeat-K/V formulation."""
    q = RNG.standard_normal((2, 6, 5, 8)).astype(dtype)
    k = RNG.standard_normal((2, 2, 7, 8)).astype(dtype)
    v = RNG.standard_normal((2, 2, 7, 4)).astype(dtype)
    (got,) = _kernel("FlexAttention", "ai.onnx.preview", {"scale": 0.3}, 1).run(q, k, v)
    kr, vr = np.repeat(k, 3, axis=1).astype(np.float64), np.repeat(v, 3, axis=1).astype(np.float64)
    s = q.astype(np.float64) @ kr.swapaxes(-1, -2) * 0.3
    p = np.exp(s - s.max(-1, keepdims=True))
    want = (p / p.sum(-1, keepdims=True)) @ vr
    assert got.dtype == dtype and got.shape == (2, 6, 5, 4)
    half = dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2e-2 if half else 1e-5, atol=1e-2 if half else 1e-6)
