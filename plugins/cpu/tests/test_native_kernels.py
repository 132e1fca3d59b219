"""The compiled kernels against the numpy ones, on random odd shapes.

Each case builds a one-node (or few-node) graph, compiles it twice (native
segments on and off) and compares.  Every case also asserts that the native
path really ran the node (a lowering that silently declined would make the
comparison meaningless).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.conv_cases import build, conv_out, preact_block, random_conv

from litert.backend import CompileContext
from litert.ir import DType, Graph, Node, Value
from litert_cpu.executor import CpuPartition
from litert_cpu.native import module, status

pytestmark = pytest.mark.skipif(module() is None, reason=f"native kernels inactive: {status().detail}")

RNG_SEED = 20261204


def run_both(graph: Graph, inputs: dict[str, np.ndarray], threads: int = 2, opset: int = 21):
    ctx = CompileContext(threads=threads, opsets={"": opset, "com.microsoft": 1})
    native = CpuPartition(graph, ctx, native=True)
    covered = {n.name for seg in native.native_segments for n in seg.nodes}
    missing = [n.name for n in graph.nodes if n.name not in covered]
    assert not missing, f"native path declined {missing}: {native.native_declined}"
    reference = CpuPartition(graph, ctx, native=False)
    got = native.run(inputs)
    want = reference.run(inputs)
    return got, want


def assert_close(got: dict, want: dict, rtol=1e-5, atol=1e-5):
    for name in want:
        w = np.asarray(want[name])
        g = np.asarray(got[name])
        assert g.shape == w.shape, name
        scale = max(1.0, float(np.abs(w).max())) if w.size else 1.0
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * scale, err_msg=name)


@pytest.mark.parametrize("case", range(24))
def test_conv_matches_numpy(case):
    rng = np.random.default_rng(RNG_SEED + case)
    group = [1, 1, 2, 3, "dw"][case % 5]
    c = int(rng.integers(1, 9)) * (3 if group == 3 else 2 if group == 2 else 1)
    if group == "dw":
        c = int(rng.integers(2, 13))
        group = c
        m = c
    else:
        m = int(rng.integers(1, 9)) * group
    h, w = int(rng.integers(1, 20)), int(rng.integers(1, 23))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    if case % 7 == 0:
        kh = kw = 1
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    dh, dw = int(rng.integers(1, 3)), 1
    pads = [int(v) for v in rng.integers(0, 3, size=4)]
    oh = conv_out(h, kh, sh, dh, pads[0], pads[2])
    ow = conv_out(w, kw, sw, dw, pads[1], pads[3])
    if oh < 1 or ow < 1:
        pads = [kh, kw, kh, kw]
        oh, ow = conv_out(h, kh, sh, dh, kh, kh), conv_out(w, kw, sw, dw, kw, kw)
    n = int(rng.integers(1, 3))
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((m, c // group, kh, kw)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    inputs = {"x": x}
    consts = {"w": wt, "b": b}
    attrs = {"group": group, "strides": [sh, sw], "dilations": [dh, dw], "pads": pads, "kernel_shape": [kh, kw]}
    node_inputs = ["x", "w", "b"]
    if case % 3 == 0:  # FusedConv with residual and activation
        z = rng.standard_normal((n, m, oh, ow)).astype(np.float32)
        inputs["z"] = z
        act = ["Relu", "Clip", "Sigmoid", "LeakyRelu"][case % 4]
        params = {"Clip": [-0.5, 0.75], "LeakyRelu": [0.1]}.get(act, [])
        node = Node("FusedConv", node_inputs + ["z"], ["y"], {**attrs, "activation": act, "activation_params": params},
                    name="conv", domain="com.microsoft")
    else:
        node = Node("Conv", node_inputs, ["y"], attrs, name="conv")
    graph = build([node], inputs, consts, {"y": (n, m, oh, ow)})
    got, want = run_both(graph, inputs, threads=1 + case % 2)
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", range(24))
def test_pool_matches_numpy(case):
    """Odd shapes on both native schemes: narrow images (planes along the
    vector, 16 at a time, so channel counts around 16 and 32) and wide ones
    (separable row passes), strides 1-3, dilation on the MaxPools."""
    rng = np.random.default_rng(RNG_SEED + 100 + case)
    op = ["MaxPool", "AveragePool"][case % 2]
    wide = case % 3 == 1
    n, c = 1 + case % 2, int(rng.integers(1, 6)) if case < 8 else int(rng.integers(14, 40))
    h, w = int(rng.integers(2, 19)), int(rng.integers(30, 70)) if wide else int(rng.integers(2, 21))
    kh, kw = int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    pads = [int(rng.integers(0, kh)), int(rng.integers(0, kw)), int(rng.integers(0, kh)), int(rng.integers(0, kw))]
    attrs = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": pads, "ceil_mode": case % 4 >= 2}
    if op == "MaxPool" and case % 5 == 0:
        attrs["dilations"] = [1 + case % 2, 2]
    if op == "AveragePool":
        attrs["count_include_pad"] = case % 3 == 0
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    reference = CpuPartition(build([Node(op, ["x"], ["y"], attrs, name="pool")], {"x": x}, {}, {"y": (1,)}),
                             CompileContext(threads=1), native=False)
    shape = reference.run({"x": x})["y"].shape
    graph = build([Node(op, ["x"], ["y"], attrs, name="pool")], {"x": x}, {}, {"y": shape})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want)


@pytest.mark.parametrize("op,include_pad", [("MaxPool", 0), ("AveragePool", 0), ("AveragePool", 1)])
@pytest.mark.parametrize("h,w", [(2, 2), (2, 9), (3, 3), (3, 17), (7, 7), (28, 28), (13, 31)])
def test_same_3x3_pools_match_numpy(op, include_pad, h, w):
    """3x3, stride 1, one pad on every side (Inception's branch pools) run flat over the plane, the first
    and last rows and columns on their own: planes from 3x3 (all border) up, and 2-row planes (the general
    path), against the numpy kernel, two images of 19 channels on two threads."""
    rng = np.random.default_rng(RNG_SEED + 180 + h * 31 + w)
    x = rng.standard_normal((2, 19, h, w)).astype(np.float32)
    attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    if op == "AveragePool":
        attrs["count_include_pad"] = include_pad
    graph = build([Node(op, ["x"], ["y"], attrs, name="pool")], {"x": x}, {}, {"y": x.shape})
    got, want = run_both(graph, {"x": x}, threads=2)
    assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shapes", [
    ((3, 5, 7), (3, 5, 7)), ((3, 5, 7), (7,)), ((3, 5, 7), (5, 1)), ((1, 5, 1), (4, 1, 6)),
    ((2, 3, 4, 5), (1, 3, 1, 1)), ((17,), ()), ((), (9, 2)), ((2, 1, 3), (2, 4, 1)),
])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
def test_binary_broadcast_matches_numpy(op, shapes):
    rng = np.random.default_rng(RNG_SEED + 200)
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    b = (rng.standard_normal(shapes[1]) + (3.0 if op == "Div" else 0.0)).astype(np.float32)
    out = np.broadcast_shapes(a.shape, b.shape)
    graph = build([Node(op, ["a", "b"], ["y"], {}, name="bin")], {"a": a, "b": b}, {}, {"y": out})
    got, want = run_both(graph, {"a": a, "b": b})
    assert_close(got, want, rtol=1e-6, atol=1e-6)


UNARY = [("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("HardSwish", {}), ("Erf", {}), ("Exp", {}), ("Neg", {}),
         ("Abs", {}), ("Softplus", {}), ("LeakyRelu", {"alpha": 0.2}), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
         ("Elu", {"alpha": 0.7}), ("Gelu", {}), ("Gelu", {"approximate": "tanh"})]


@pytest.mark.parametrize("op,attrs", UNARY, ids=[f"{o}{'-' + str(a) if a else ''}" for o, a in UNARY])
def test_unary_matches_numpy(op, attrs):
    rng = np.random.default_rng(RNG_SEED + 300)
    x = (rng.standard_normal((3, 1031)) * 4).astype(np.float32)
    x[0, :8] = [0.0, -0.0, 1e-6, -1e-6, 30.0, -30.0, 85.0, -100.0]
    graph = build([Node(op, ["x"], ["y"], attrs, name="u")], {"x": x}, {}, {"y": x.shape})
    got, want = run_both(graph, {"x": x}, opset=21)
    assert_close(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("case", range(8))
def test_softmax_layernorm_matches_numpy(case):
    rng = np.random.default_rng(RNG_SEED + 400 + case)
    shape = tuple(int(v) for v in rng.integers(1, 40, size=2 + case % 3))
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    axis = int(rng.integers(-len(shape), len(shape)))
    op = ["Softmax", "LogSoftmax"][case % 2]
    graph = build([Node(op, ["x"], ["y"], {"axis": axis}, name="sm")], {"x": x}, {}, {"y": shape})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=1e-5, atol=1e-6)
    size = shape[-1]
    gamma = rng.standard_normal(size).astype(np.float32)
    beta = rng.standard_normal(size).astype(np.float32)
    graph = build([Node("LayerNormalization", ["x", "g", "b"], ["y"], {"axis": -1, "epsilon": 1e-5}, name="ln")],
                  {"x": x}, {"g": gamma, "b": beta}, {"y": shape})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", range(10))
def test_matmul_gemm_matches_numpy(case):
    rng = np.random.default_rng(RNG_SEED + 500 + case)
    m, k, n = (int(v) for v in rng.integers(1, 70, size=3))
    layouts = [((m, k), (k, n)), ((3, m, k), (k, n)), ((2, 3, m, k), (2, 3, k, n)), ((m, k), (4, k, n)),
               ((5, m, k), (5, k, n))]
    sa, sb = layouts[case % len(layouts)]
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    out = (*np.broadcast_shapes(sa[:-2], sb[:-2]), m, n)
    graph = build([Node("MatMul", ["a", "b"], ["y"], {}, name="mm")], {"a": a}, {"b": b}, {"y": out})
    got, want = run_both(graph, {"a": a})
    assert_close(got, want, rtol=1e-4, atol=1e-4)
    trans_b = case % 2
    wt = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    bias = rng.standard_normal([(n,), (1, n), (m, n), (1,)][case % 4]).astype(np.float32)
    a2 = rng.standard_normal((m, k)).astype(np.float32)
    attrs = {"transB": trans_b, "alpha": 0.5 + case, "beta": 1.5}
    graph = build([Node("Gemm", ["a", "w", "c"], ["y"], attrs, name="gemm")], {"a": a2}, {"w": wt, "c": bias},
                  {"y": (m, n)})
    got, want = run_both(graph, {"a": a2})
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,k,n,threads", [(197, 192, 100, 1), (12, 768, 64, 2), (8, 1000, 45, 1), (20, 1024, 96, 2),
                                            (4, 3, 33, 1), (29, 512, 256, 2), (17, 800, 31, 1), (29, 800, 1400, 1),
                                            (20, 1024, 700, 2), (44, 1536, 2100, 1)])
def test_constant_b_matmul_reads_a_in_place(m, k, n, threads):
    """Products with a constant B read A's rows in place (no packing) in 12-, 8- and 4-row panels, k in 384-deep
    slices (800, 1,000: three), in passes of columns that fill half of L2 (1,400 and 2,100 columns: several
    passes on any L2 up to 2 MB), a partial last column panel over all of k; the rest of the rows (5 of 197, 9 of
    29) are packed first, and strides whose 12 rows share L1 sets (k = 512, 1,024, 1,536) copied a slice at a
    time."""
    rng = np.random.default_rng(RNG_SEED + 590 + m + k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    graph = build([Node("MatMul", ["a", "b"], ["y"], {}, name="mm")], {"a": a}, {"b": b}, {"y": (m, n)})
    kinds = CpuPartition(graph, CompileContext(threads=threads, opsets={"": 21}), native=True).native_segments[0].step_kinds
    assert module().STEP_MATMUL_PACKED in kinds
    got = run_both(graph, {"a": a}, threads=threads)[0]["y"]
    # against float64 numpy: the numpy kernel's own product may call the library for some shapes
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("heads, m, k, n", [(3, 197, 64, 197), (3, 197, 197, 64), (5, 37, 19, 45), (3, 25, 8, 9)])
def test_attention_products_cut_heads_for_two_threads(heads, m, k, n):
    """Q x K^T and P x V of two activations, with a head count the threads do not divide: each head is cut
    into row blocks (whole 12-row tiles, the last one short) so that both threads finish together."""
    rng = np.random.default_rng(RNG_SEED + 540 + heads + m)
    a = rng.standard_normal((1, heads, m, k)).astype(np.float32)
    b = rng.standard_normal((1, heads, k, n)).astype(np.float32)
    graph = build([Node("MatMul", ["a", "b"], ["y"], {}, name="mm")], {"a": a, "b": b}, {}, {"y": (1, heads, m, n)})
    got, want = run_both(graph, {"a": a, "b": b}, threads=2)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", range(7))
def test_packed_weight_gemm_matches_numpy(case):
    """Constant-B MatMul/Gemm run on weights packed at load into 32-column
    panels: rows off the 12-row panels, columns off the 32-column ones, long
    k, every bias form and a fused activation, one and two threads (rows and
    column panels split among tasks); one row reads eight panels side by side
    (300 columns: 8 + 2 panels, the last partial)."""
    rng = np.random.default_rng(RNG_SEED + 550 + case)
    m, k, n = [(1, 37, 70), (197, 192, 77), (13, 301, 32), (50, 64, 200), (3, 768, 33), (25, 5, 1000),
                (1, 301, 300)][case]
    batch = (2,) if case % 2 else ()
    a = rng.standard_normal((*batch, m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    graph = build([Node("MatMul", ["a", "b"], ["y"], {}, name="mm")], {"a": a}, {"b": b}, {"y": (*batch, m, n)})
    got, want = run_both(graph, {"a": a}, threads=1 + case % 2)
    assert_close(got, want, rtol=1e-4, atol=1e-4)
    lib = module()
    if lib.conv_packed_available():
        partition = CpuPartition(graph, CompileContext(threads=1), native=True)
        assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_MATMUL_PACKED]]
    trans_b = case % 2
    wt = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    bias = rng.standard_normal([(n,), (1, n), (m, n), (1,)][case % 4]).astype(np.float32)
    a2 = rng.standard_normal((m, k)).astype(np.float32)
    attrs = {"transB": trans_b, "alpha": 0.75, "beta": 1.25, "activation": "Relu"}
    graph = build([Node("FusedGemm", ["a", "w", "c"], ["y"], attrs, name="gemm", domain="com.microsoft")],
                  {"a": a2}, {"w": wt, "c": bias}, {"y": (m, n)})
    got, want = run_both(graph, {"a": a2}, threads=2 - case % 2)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m,k,n,bias_shape,threads", [(29, 1024, 1400, (29, 1400), 1), (44, 800, 2100, (2100,), 2),
                                                     (13, 1536, 730, (1,), 1)])
def test_blocked_products_finish_each_region_once(m, k, n, bias_shape, threads):
    """A deep, wide product runs in passes of columns and slices of k, its epilogue (alpha, beta times the bias
    of every form, the activation) applied once to each region of C when that region is final: a region finished
    twice, or before its last slice, or at another region's offset, gives other values."""
    rng = np.random.default_rng(RNG_SEED + 600 + m)
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(bias_shape).astype(np.float32)
    attrs = {"alpha": 0.75, "beta": 1.25, "activation": "Relu"}
    graph = build([Node("FusedGemm", ["a", "w", "c"], ["y"], attrs, name="gemm", domain="com.microsoft")],
                  {"a": a}, {"w": w, "c": bias}, {"y": (m, n)})
    kinds = CpuPartition(graph, CompileContext(threads=threads, opsets={"": 21}), native=True).native_segments[0].step_kinds
    assert module().STEP_MATMUL_PACKED in kinds
    got = run_both(graph, {"a": a}, threads=threads)[0]["y"]
    want = np.maximum(0.75 * (a.astype(np.float64) @ w.astype(np.float64)) + 1.25 * bias, 0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bias_first", [False, True])
def test_matmul_bias_add_and_activation_fold_into_one_step(bias_first):
    """MatMul, then Add of a constant row (either operand order), then Relu:
    one library step with the bias and the activation in its epilogue."""
    rng = np.random.default_rng(RNG_SEED + 570 + bias_first)
    a = rng.standard_normal((2, 19, 40)).astype(np.float32)
    b = rng.standard_normal((40, 45)).astype(np.float32)
    bias = rng.standard_normal(45).astype(np.float32)
    add_inputs = ["bias", "mm"] if bias_first else ["mm", "bias"]
    nodes = [Node("MatMul", ["a", "b"], ["mm"], {}, name="mm"), Node("Add", add_inputs, ["s"], {}, name="add"),
             Node("Relu", ["s"], ["y"], {}, name="relu")]
    graph = build(nodes, {"a": a}, {"b": b, "bias": bias}, {"y": (2, 19, 45)})
    for name in ("mm", "s"):  # intermediates, not graph outputs
        graph.values[name] = Value(name, DType.FLOAT32, (2, 19, 45))
    got, want = run_both(graph, {"a": a})
    assert_close(got, want, rtol=1e-4, atol=1e-4)
    partition = CpuPartition(graph, CompileContext(threads=1), native=True)
    lib = module()
    (kinds,) = [seg.step_kinds for seg in partition.native_segments]
    assert kinds[0] in (lib.STEP_MATMUL, lib.STEP_MATMUL_PACKED)
    assert lib.STEP_BINARY not in kinds and lib.STEP_UNARY not in kinds, kinds


@pytest.mark.parametrize("order", ["scale_second", "scale_first", "after_bias"])
def test_attention_scale_after_matmul_folds_into_its_alpha(order):
    """Q.K^T then Mul by a constant scalar (either operand order), then Softmax: the Mul becomes the MatMul's
    alpha; after a bias Add the scale would scale the bias too, so it stays a step of its own there."""
    rng = np.random.default_rng(RNG_SEED + 575 + len(order))
    q = rng.standard_normal((3, 17, 16)).astype(np.float32)
    k_t = rng.standard_normal((3, 16, 17)).astype(np.float32)
    consts = {"k": k_t, "scale": np.array(0.25, np.float32), "bias": rng.standard_normal(17).astype(np.float32)}
    first = "s" if order == "after_bias" else "mm"
    mul = ["scale", first] if order == "scale_first" else [first, "scale"]
    nodes = [Node("MatMul", ["q", "k"], ["mm"], {}, name="mm")]
    if order == "after_bias":
        nodes.append(Node("Add", ["mm", "bias"], ["s"], {}, name="bias"))
    nodes += [Node("Mul", mul, ["scaled"], {}, name="scale"), Node("Softmax", ["scaled"], ["y"], {"axis": -1}, name="sm")]
    graph = build(nodes, {"q": q}, consts, {"y": (3, 17, 17)})
    for name in ("mm", "s", "scaled"):
        graph.values[name] = Value(name, DType.FLOAT32, (3, 17, 17))
    got, want = run_both(graph, {"q": q})
    assert_close(got, want, rtol=1e-5, atol=1e-6)
    (kinds,) = [seg.step_kinds for seg in CpuPartition(graph, CompileContext(threads=1), native=True).native_segments]
    assert (module().STEP_BINARY in kinds) == (order == "after_bias"), kinds


@pytest.mark.parametrize("form", ["div", "mul", "kept"])
def test_written_out_gelu_after_matmul_folds_into_its_epilogue(form):
    """MatMul + bias, then GELU as exporters write it before opset 20
    (x / sqrt2 or x * 1/sqrt2, Erf, + 1, * x, * 0.5): one library step.
    "kept": the Erf's output is also a graph output, so nothing folds and
    every node runs as written."""
    rng = np.random.default_rng(RNG_SEED + 580)
    a = rng.standard_normal((1, 17, 24)).astype(np.float32)
    consts = {"b": rng.standard_normal((24, 40)).astype(np.float32),
              "bias": rng.standard_normal(40).astype(np.float32), "one": np.array(1.0, np.float32),
              "half": np.array(0.5, np.float32),
              "k": np.array(np.sqrt(2.0) if form != "mul" else 1 / np.sqrt(2.0), np.float32)}
    scale = Node("Div" if form != "mul" else "Mul", ["h", "k"], ["d"], {}, name="scale")
    nodes = [Node("MatMul", ["a", "b"], ["mm"], {}, name="mm"), Node("Add", ["mm", "bias"], ["h"], {}, name="add"),
             scale, Node("Erf", ["d"], ["e"], {}, name="erf"), Node("Add", ["e", "one"], ["e1"], {}, name="plus1"),
             Node("Mul", ["h", "e1"], ["m"], {}, name="mul"), Node("Mul", ["m", "half"], ["y"], {}, name="half")]
    outputs = {"y": (1, 17, 40), "e": (1, 17, 40)} if form == "kept" else {"y": (1, 17, 40)}
    graph = build(nodes, {"a": a}, consts, outputs)
    for name in ("mm", "h", "d", "e", "e1", "m"):
        graph.values.setdefault(name, Value(name, DType.FLOAT32, (1, 17, 40)))
    got, want = run_both(graph, {"a": a})
    assert_close(got, want, rtol=1e-4, atol=1e-5)
    x = a.reshape(17, 24) @ consts["b"] + consts["bias"]
    gelu = 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2.0)))
    np.testing.assert_allclose(got["y"].reshape(17, 40), gelu, rtol=1e-4, atol=1e-5)
    lib = module()
    (kinds,) = [seg.step_kinds for seg in CpuPartition(graph, CompileContext(threads=1), native=True).native_segments]
    if form == "kept":
        assert lib.STEP_UNARY in kinds  # the Erf runs on its own
    else:
        assert kinds[0] in (lib.STEP_MATMUL, lib.STEP_MATMUL_PACKED)
        assert lib.STEP_BINARY not in kinds and lib.STEP_UNARY not in kinds, kinds


@pytest.mark.parametrize("shape,perm,threads", [((3, 24, 1024), (0, 2, 1), 2), ((37, 45), (1, 0), 1),
                                                 ((2, 3, 17, 33), (0, 1, 3, 2), 2), ((5, 7, 19), (1, 2, 0), 2),
                                                 ((2, 1, 16, 3), (3, 0, 2, 1), 1), ((4, 33, 2, 5, 3), (0, 1, 4, 3, 2), 2)])
def test_transpose_blocks_of_contiguous_rows_match_numpy(shape, perm, threads):
    """Transposes whose second-innermost output axis is contiguous in the input run 16 output rows at a time:
    blocks cut by the axis' end and by task boundaries, ranks 2-5, a rotation as well as swaps."""
    x = np.random.default_rng(RNG_SEED + 650 + sum(shape)).standard_normal(shape).astype(np.float32)
    graph = build([Node("Transpose", ["x"], ["t"], {"perm": list(perm)}, name="tr")], {"x": x}, {},
                  {"t": tuple(shape[p] for p in perm)})
    got, want = run_both(graph, {"x": x}, threads=threads)
    assert np.array_equal(got["t"], want["t"]) and np.array_equal(want["t"], x.transpose(perm))


@pytest.mark.parametrize("case", range(6))
def test_movement_matches_numpy(case):
    rng = np.random.default_rng(RNG_SEED + 600 + case)
    shape = tuple(int(v) for v in rng.integers(1, 9, size=3 + case % 3))
    x = rng.standard_normal(shape).astype(np.float32)
    perm = [int(p) for p in rng.permutation(len(shape))]
    tshape = tuple(shape[p] for p in perm)
    axis = case % len(shape)
    other = list(shape)
    other[axis] = 3
    y2 = rng.standard_normal(other).astype(np.float32)
    cshape = list(shape)
    cshape[axis] += 3
    nodes = [
        Node("Transpose", ["x"], ["t"], {"perm": perm}, name="tr"),
        Node("Concat", ["x", "y2"], ["c"], {"axis": axis}, name="cat"),
        Node("Split", ["c", "parts"], ["s1", "s2"], {"axis": axis}, name="split"),
        Node("Reshape", ["s1", "shape"], ["r"], {}, name="reshape"),
        Node("Relu", ["r"], ["out"], {}, name="relu"),
    ]
    half = cshape[axis] // 2 + cshape[axis] % 2
    s1 = list(cshape)
    s1[axis] = half
    s2 = list(cshape)
    s2[axis] = cshape[axis] - half
    if s2[axis] == 0:
        pytest.skip("odd split leaves an empty part")
    graph = build(nodes, {"x": x, "y2": y2}, {"shape": np.array([-1], np.int64),
                                               "parts": np.array([s1[axis], s2[axis]], np.int64)},
                  {"t": tshape, "s2": tuple(s2), "out": (int(np.prod(s1)),)})
    graph.values["c"] = Value("c", DType.FLOAT32, tuple(cshape))
    graph.values["s1"] = Value("s1", DType.FLOAT32, tuple(s1))
    graph.values["r"] = Value("r", DType.FLOAT32, (int(np.prod(s1)),))
    got, want = run_both(graph, {"x": x, "y2": y2}, opset=13)
    assert_close(got, want, rtol=0, atol=0)


def test_segment_outputs_do_not_alias_inputs():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    graph = build([Node("Reshape", ["x", "shape"], ["y"], {}, name="reshape")], {"x": x},
                  {"shape": np.array([4, 3], np.int64)}, {"y": (4, 3)})
    part = CpuPartition(graph, CompileContext(threads=1, opsets={"": 13}), native=True)
    y = part.run({"x": x})["y"]
    assert not np.shares_memory(x, y)
    np.testing.assert_array_equal(y, x.reshape(4, 3))


def test_wrong_input_shape_is_an_execution_error():
    from litert.errors import ExecutionError

    x = np.ones((2, 3), np.float32)
    graph = build([Node("Relu", ["x"], ["y"], {}, name="relu")], {"x": x}, {}, {"y": (2, 3)})
    part = CpuPartition(graph, CompileContext(threads=1), native=True)
    with pytest.raises(ExecutionError, match="expects float32"):
        part.run({"x": np.ones((3, 2), np.float32)})


def test_program_refuses_out_of_bounds_steps():
    native = module()
    program = native.Program([16, 16])
    with pytest.raises(ValueError, match="refused"):
        # 5 floats do not fit 16 bytes
        program.add(native.STEP_UNARY, (0, 1), (native.ACT_RELU, 5), (0.0, 0.0))
    with pytest.raises(ValueError, match="refused"):
        program.add(native.STEP_COPY, (0, 1), (2, 8, 8, 8, 0, 8), ())  # reads bytes 8..24 of 16
    with pytest.raises(IndexError):
        program.add(native.STEP_UNARY, (0, 7), (native.ACT_RELU, 1), (0.0, 0.0))
    program.bind_arena(0, 0)
    program.bind_arena(1, 64)
    program.add(native.STEP_UNARY, (0, 1), (native.ACT_RELU, 4), (0.0, 0.0))
    with pytest.raises(ValueError, match="outside the arena"):
        program.run(None, np.zeros(64, np.uint8), [])


def test_program_refuses_winograd_variants_it_does_not_have():
    """F(2x2, 5x5) exists, F(4x4, 5x5) does not: a step asking for it is refused, as is a packed weight slot
    one float short of the variant's layout."""
    native = module()
    n, c, h, w, m = 1, 32, 12, 12, 32
    ints = (n, c, h, w, m, h, w, 5, 5, 1, 1, 1, 1, 2, 2, 1, native.ACT_NONE)
    packed = native.packed_bytes("winograd", rows=m, k=c, unit=2, kernel=5)
    with pytest.raises(ValueError, match="geometry"):
        native.packed_bytes("winograd", rows=m, k=c, unit=4, kernel=5)
    with pytest.raises(ValueError, match="no packed weight layout"):
        native.packed_bytes("winograd4", rows=m, k=c)
    with pytest.raises(TypeError):
        native.packed_bytes("conv", rows=m, k=c, depth=3)
    program = native.Program([n * c * h * w * 4, packed, n * m * h * w * 4])
    program.add(native.STEP_CONV2D_WINOGRAD, (0, 1, -1, -1, 2), ints, (0.0, 0.0))
    with pytest.raises(ValueError, match="refused"):
        program.add(native.STEP_CONV2D_WINOGRAD4, (0, 1, -1, -1, 2), ints, (0.0, 0.0))
    short = native.Program([n * c * h * w * 4, packed - 4, n * m * h * w * 4])
    with pytest.raises(ValueError, match="refused"):
        short.add(native.STEP_CONV2D_WINOGRAD, (0, 1, -1, -1, 2), ints, (0.0, 0.0))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("pad", [0, 1])
@pytest.mark.parametrize("size", [(5, 7), (9, 4), (16, 17)])
def test_depthwise_3x3_matches_numpy(stride, pad, size):
    rng = np.random.default_rng(RNG_SEED + 700 + stride * 10 + pad)
    c, (h, w) = 5, size
    x = rng.standard_normal((2, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    attrs = {"group": c, "strides": [stride, stride], "pads": [pad] * 4, "kernel_shape": [3, 3],
             "activation": "Clip", "activation_params": [0.0, 6.0]}
    oh, ow = conv_out(h, 3, stride, 1, pad, pad), conv_out(w, 3, stride, 1, pad, pad)
    node = Node("FusedConv", ["x", "w", "b"], ["y"], attrs, name="dw", domain="com.microsoft")
    graph = build([node], {"x": x}, {"w": wt, "b": b}, {"y": (2, c, oh, ow)})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(2, 2), (3, 40), (33, 67), (12, 35)])
@pytest.mark.parametrize("pads", [[0, 0, 1, 1], [1, 2, 0, 1], [2, 2, 2, 2], [1, 1, 1, 1]])
@pytest.mark.parametrize("activation", [("Clip", [0.0, 6.0]), ("HardSigmoid", [0.2, 0.5]), None])
def test_depthwise_3x3_stride_2_edges_match_numpy(size, pads, activation):
    """Stride 2 over the even/odd column split at every edge: asymmetric pads, several 16-column vectors per row,
    planes narrower than a vector, a fused residual and an activation that is not a clamp."""
    rng = np.random.default_rng(RNG_SEED + 720 + size[1] + 7 * pads[1])
    c, (h, w) = 3, size
    oh, ow = conv_out(h, 3, 2, 1, pads[0], pads[2]), conv_out(w, 3, 2, 1, pads[1], pads[3])
    x = rng.standard_normal((2, c, h, w)).astype(np.float32)
    z = rng.standard_normal((2, c, oh, ow)).astype(np.float32)
    wt = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    attrs = {"group": c, "strides": [2, 2], "pads": pads, "kernel_shape": [3, 3]}
    if activation:
        attrs.update(activation=activation[0], activation_params=activation[1])
    node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], attrs, name="dw", domain="com.microsoft")
    graph = build([node], {"x": x, "z": z}, {"w": wt, "b": b}, {"y": (2, c, oh, ow)})
    got, want = run_both(graph, {"x": x, "z": z})
    assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(7, 7), (8, 8), (3, 5), (1, 1), (9, 8)])
@pytest.mark.parametrize("activation", [("Clip", [0.0, 6.0]), ("HardSigmoid", [0.2, 0.5])])
def test_depthwise_3x3_narrow_maps_match_numpy(size, activation):
    """Stride-1 maps of at most 8 columns run over the padded plane as one flat row (7x7: 4 vectors instead of
    7 rows of 7 lanes), the residual and the clamp added as the rows are copied out, an activation that is not
    a clamp after them."""
    rng = np.random.default_rng(RNG_SEED + 740 + size[0] * 10 + size[1])
    c, (h, w) = 5, size
    x = rng.standard_normal((2, c, h, w)).astype(np.float32)
    z = rng.standard_normal((2, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    attrs = {"group": c, "pads": [1, 1, 1, 1], "kernel_shape": [3, 3], "activation": activation[0],
             "activation_params": activation[1]}
    node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], attrs, name="dw", domain="com.microsoft")
    graph = build([node], {"x": x, "z": z}, {"w": wt, "b": b}, {"y": (2, c, h, w)})
    got, want = run_both(graph, {"x": x, "z": z}, threads=2)
    assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_model_same_on_both_paths(tmp_path, monkeypatch):
    """A whole MobileNetV2 (symbolic batch: specialised per binding) on the
    native segments and on the numpy kernels."""
    import onnx
    from helpers.modelgen import mobilenet_v2  # tests/ is on pytest's pythonpath

    import litert
    import litert_cpu.executor

    path = tmp_path / "m.onnx"
    onnx.save(mobilenet_v2(seed=0, width=0.5, resolution=96, classes=50), path)
    x = np.random.default_rng(0).standard_normal((2, 3, 96, 96)).astype(np.float32)
    native = litert.load(path, threads=2)
    [got] = native.predict([x])
    [(_, _, part)] = native._compiled
    specialised = list(part._specialized.values())
    assert specialised and specialised[0].native_segments and not specialised[0].native_declined
    monkeypatch.setattr(litert_cpu.executor, "native_module", lambda: None)
    [want] = litert.load(path, threads=2).predict([x])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


@pytest.mark.parametrize("size,beta", [(5, 0.75), (3, 0.5), (4, 0.75), (1, 1.0)])
def test_lrn_matches_numpy(size, beta):
    rng = np.random.default_rng(RNG_SEED + 800 + size)
    x = rng.standard_normal((2, 7, 5, 9)).astype(np.float32)
    attrs = {"size": size, "alpha": 1e-3, "beta": beta, "bias": 1.5}
    graph = build([Node("LRN", ["x"], ["y"], attrs, name="lrn")], {"x": x}, {}, {"y": x.shape})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_concurrent_predicts_give_the_serial_results(tmp_path):
    """One loaded model, predict from several Python threads at once: each run
    gets its own arena, and a busy pool runs the other caller's tasks inline."""
    import onnx
    from helpers.concurrency import run_in_threads
    from helpers.modelgen import mobilenet_v2

    import litert

    path = tmp_path / "m.onnx"
    onnx.save(mobilenet_v2(seed=1, width=0.35, resolution=64, classes=10), path)
    model = litert.load(path, threads=2)
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal((1 + i % 2, 3, 64, 64)).astype(np.float32) for i in range(6)]
    serial = [model.predict([x])[0] for x in inputs]
    results: dict[int, list] = {i: [] for i in range(len(inputs))}

    def worker(i: int) -> None:
        for _ in range(5):
            results[i].append(model.predict([inputs[i]])[0])

    run_in_threads(worker, len(inputs))
    for i, outs in results.items():
        assert len(outs) == 5
        for out in outs:
            np.testing.assert_array_equal(out, serial[i])


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("variant", ["full", "bare", "last_only"])
@pytest.mark.parametrize("seq,batch,inp,hid", [(7, 3, 5, 9), (6, 2, 33, 40), (5, 1, 64, 37)])
def test_lstm_matches_numpy(direction, variant, seq, batch, inp, hid):
    """Hidden sizes that leave only scalar tails (9: 36 gates), whole 64- and 32-gate vector blocks (40: 160
    gates), and both with a tail (37: 148); step counts that are and are not multiples of the four input
    projections computed together."""
    rng = np.random.default_rng(RNG_SEED + 900 + len(direction) + len(variant) + hid)
    dirs = 2 if direction == "bidirectional" else 1
    x = rng.standard_normal((seq, batch, inp)).astype(np.float32)
    consts = {"w": (rng.standard_normal((dirs, 4 * hid, inp)) * 0.5).astype(np.float32),
              "r": (rng.standard_normal((dirs, 4 * hid, hid)) * 0.5).astype(np.float32)}
    names = ["x", "w", "r"]
    inputs = {"x": x}
    if variant == "full":
        consts["b"] = rng.standard_normal((dirs, 8 * hid)).astype(np.float32)
        inputs["h0"] = rng.standard_normal((dirs, batch, hid)).astype(np.float32)
        inputs["c0"] = rng.standard_normal((dirs, batch, hid)).astype(np.float32)
        names += ["b", "", "h0", "c0"]
    outputs = {"y": (seq, dirs, batch, hid), "yh": (dirs, batch, hid), "yc": (dirs, batch, hid)}
    out_names = ["y", "yh", "yc"]
    if variant == "last_only":
        outputs.pop("y")
        out_names[0] = ""
    node = Node("LSTM", names, out_names, {"hidden_size": hid, "direction": direction}, name="lstm")
    graph = build([node], inputs, consts, outputs)
    got, want = run_both(graph, inputs)
    assert_close(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("batch,hid", [(1, 128), (3, 100), (2, 64), (1, 200)])
def test_lstm_steps_shared_among_threads_match_numpy_and_one_thread(direction, batch, hid):
    """From hidden 64 up, each step's units are shared among the pool's threads (whole vectors of 16 units a task:
    100 as 64 + 36, 200 on three threads as 80 + 80 + 40), every task reading the previous state and writing the
    next into another buffer: the same bits as one thread, and numpy's values."""
    rng = np.random.default_rng(RNG_SEED + 950 + hid + batch)
    dirs = 2 if direction == "bidirectional" else 1
    seq, inp = 6, 24
    x = rng.standard_normal((seq, batch, inp)).astype(np.float32)
    consts = {"w": (rng.standard_normal((dirs, 4 * hid, inp)) * 0.3).astype(np.float32),
              "r": (rng.standard_normal((dirs, 4 * hid, hid)) * 0.3).astype(np.float32),
              "b": rng.standard_normal((dirs, 8 * hid)).astype(np.float32)}
    inputs = {"x": x, "h0": rng.standard_normal((dirs, batch, hid)).astype(np.float32),
              "c0": rng.standard_normal((dirs, batch, hid)).astype(np.float32)}
    node = Node("LSTM", ["x", "w", "r", "b", "", "h0", "c0"], ["y", "yh", "yc"],
                {"hidden_size": hid, "direction": direction}, name="lstm")
    outputs = {"y": (seq, dirs, batch, hid), "yh": (dirs, batch, hid), "yc": (dirs, batch, hid)}
    graph = build([node], inputs, consts, outputs)
    one, want = run_both(graph, inputs, threads=1)
    assert_close(one, want, rtol=2e-5, atol=2e-5)
    for threads in (2, 3):
        shared, _ = run_both(graph, inputs, threads=threads)
        for name in outputs:
            np.testing.assert_array_equal(shared[name], one[name])


RESIZES = [
    {"mode": "nearest"}, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
    {"mode": "linear"}, {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
    {"mode": "cubic"}, {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"},
]


@pytest.mark.parametrize("attrs", RESIZES, ids=lambda a: "-".join(str(v) for v in a.values()))
@pytest.mark.parametrize("scale", [(2.0, 2.0), (0.5, 1.5), (1.0, 3.0)])
def test_resize_matches_numpy(attrs, scale):
    rng = np.random.default_rng(RNG_SEED + 1000)
    x = rng.standard_normal((2, 3, 6, 9)).astype(np.float32)
    scales = np.array([1.0, 1.0, *scale], np.float32)
    out = (2, 3, int(6 * scale[0]), int(9 * scale[1]))
    node = Node("Resize", ["x", "", "scales"], ["y"], attrs, name="resize")
    graph = build([node], {"x": x}, {"scales": scales}, {"y": out})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", range(8))
def test_conv_transpose_matches_numpy(case):
    rng = np.random.default_rng(RNG_SEED + 1100 + case)
    group = 1 + case % 2
    c, mg = 2 * group, int(rng.integers(1, 5))
    h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    pads = [int(v) for v in rng.integers(0, k, size=4)]
    attrs = {"group": group, "strides": [s, s], "pads": pads, "kernel_shape": [k, k]}
    if case % 4 == 3:
        attrs["output_padding"] = [s - 1, 0]
    if case % 4 == 2:  # taps that land in the cropped border on both sides
        attrs["dilations"] = [2, 3]
    _check_conv_transpose(rng, (2, c, h, w), mg, k, attrs, atol=1e-5)


def _check_conv_transpose(rng, x_shape, mg, k, attrs, atol):
    """A random ConvTranspose of an ``x_shape`` input into ``mg`` channels per group: native against numpy, two
    threads."""
    n, c, group = x_shape[0], x_shape[1], attrs["group"]
    x = rng.standard_normal(x_shape).astype(np.float32)
    wt = rng.standard_normal((c, mg, k, k)).astype(np.float32)
    b = rng.standard_normal(mg * group).astype(np.float32)
    from litert_cpu.kernels.nn.convtranspose import transpose_geometry

    out, _, _, _ = transpose_geometry(attrs, x.shape[2:], [k, k])
    node = Node("ConvTranspose", ["x", "w", "b"], ["y"], attrs, name="ct")
    graph = build([node], {"x": x}, {"w": wt, "b": b}, {"y": (n, mg * group, *out)})
    got, want = run_both(graph, {"x": x}, threads=2)
    assert_close(got, want, rtol=1e-4, atol=atol)


@pytest.mark.parametrize("group,k,s", [(1, 3, 2), (2, 2, 2), (1, 4, 1)])
def test_conv_transpose_in_chunks_matches_numpy(group, k, s):
    """Enough input positions and output channels for several GEMM and col2im tasks on two threads, with taps of
    neighbouring positions overlapping (kernel wider than the stride) and without (2x2 stride 2)."""
    rng = np.random.default_rng(RNG_SEED + 1150 + 10 * k + s)
    c, mg, h, w = 16 * group, 11, 19, 23
    attrs = {"group": group, "strides": [s, s], "pads": [1, 0, 0, 1], "kernel_shape": [k, k]}
    _check_conv_transpose(rng, (1, c, h, w), mg, k, attrs, atol=1e-4)


@pytest.mark.parametrize("m", [4, 8, 12, 16, 20, 24, 28])
@pytest.mark.parametrize("kernel,pad", [(1, 0), (3, 1)])
def test_conv_row_panels_match_numpy(m, kernel, pad):
    """Every remainder of the 12-row weight panels (4-, 8-, 12-row kernels and the edge path), with
    positions that leave a partial 32-wide input panel, bias, residual and a clamp."""
    rng = np.random.default_rng(RNG_SEED + 1200 + m + kernel)
    c, h, w = 40, 9, 11
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((m, c, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    z = rng.standard_normal((1, m, h, w)).astype(np.float32)
    attrs = {"pads": [pad] * 4, "kernel_shape": [kernel, kernel], "activation": "Clip", "activation_params": [-1.0, 1.5]}
    node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], attrs, name="c", domain="com.microsoft")
    graph = build([node], {"x": x, "z": z}, {"w": wt, "b": b}, {"y": (1, m, h, w)})
    got, want = run_both(graph, {"x": x, "z": z})
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", range(18))
def test_flat_rows_conv_matches_numpy(case):
    """Convs in the flat-rows path's geometry (no im2col; the dropped columns past each row's end under a quarter
    of the plane width; taken where flat_pays finds it cheaper than packing, else packed): 3x3, 5x5 dilated, 1x7,
    7x1 and 1x1, strides 1-3 (phase planes), asymmetric pads, groups,
    batch 2, channel counts that need two k slices (k > 384) and partial weight panels, residual, activations."""
    rng = np.random.default_rng(RNG_SEED + 1400 + case)
    (kh, kw), (dh, dw) = [((3, 3), (1, 1)), ((5, 5), (2, 1)), ((1, 7), (1, 1)), ((7, 1), (1, 1)),
                          ((3, 3), (1, 2)), ((1, 1), (1, 1))][case % 6]
    sh, sw = [(1, 1), (2, 2), (2, 1), (1, 2), (3, 2), (2, 3)][case % 6 if case < 6 else (case // 6 + case) % 6]
    if (kh, kw, sh, sw) == (1, 1, 1, 1):
        sh = sw = 2
    group = [1, 2, 1][case % 3]
    c = [48, 6, 20][case % 3] * group
    m = int(rng.integers(1, 30)) * group
    n = 1 + case % 2
    h, w = int(rng.integers(5, 30)), int(rng.integers(4 * (kw - 1) * dw + 8, 70))
    pads = [int(rng.integers(0, kh)), int(rng.integers(0, kw)), int(rng.integers(0, kh)), int(rng.integers(0, kw))]
    oh, ow = conv_out(h, kh, sh, dh, pads[0], pads[2]), conv_out(w, kw, sw, dw, pads[1], pads[3])
    wq = ow + (kw - 1) * dw // sw
    assert oh >= 1 and 4 * (wq - ow) <= wq  # the flat-rows path takes it
    node, inputs, consts, out_shape = random_conv(rng, case, (n, c, h, w), m, (kh, kw), (sh, sw), (dh, dw), group, pads)
    graph = build([node], inputs, consts, {"y": out_shape})
    got, want = run_both(graph, inputs, threads=1 + case % 2)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c,m,size,kernel,threads", [(400, 30, 7, 1, 1), (400, 30, 7, 1, 2), (96, 13, 7, 1, 2),
                                                     (50, 25, 7, 3, 1), (64, 40, 14, 1, 2), (24, 12, 3, 3, 2),
                                                     (130, 7, 5, 3, 2), (64, 20, 11, 1, 2), (450, 20, 12, 1, 1),
                                                     (40, 17, 5, 1, 1), (256, 96, 7, 1, 2)])
def test_packed_conv_narrow_last_panel_matches_numpy(c, m, size, kernel, threads):
    """A last panel of fewer than 26 positions runs over all of k at once, 16 of its columns as one 12 x 16 tile
    when it has that many and the rest one column per position (7x7: 49 = 32 + 16 + 1; 11x11: 121 = 3 x 32 +
    16 + 9; 12x12: 144 = 4 x 32 + 16; 5x5: 25 = 16 + 9; 14x14: 196 = 6 x 32 + 4): with two k slices
    (k > 384), partial weight panels, a residual, an activation, 1 and 2 threads (a 7x7 image's one tile with
    its weight panels in two chunks, costed by FMAs: 96 channels from 256)."""
    rng = np.random.default_rng(RNG_SEED + 1500 + c + m + size)
    x = rng.standard_normal((1, c, size, size)).astype(np.float32)
    z = rng.standard_normal((1, m, size, size)).astype(np.float32)
    wt = (rng.standard_normal((m, c, kernel, kernel)) / np.sqrt(c * kernel * kernel)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    pad = kernel // 2
    attrs = {"pads": [pad] * 4, "kernel_shape": [kernel, kernel], "activation": "Clip", "activation_params": [-1.0, 1.5]}
    node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], attrs, name="c", domain="com.microsoft")
    graph = build([node], {"x": x, "z": z}, {"w": wt, "b": b}, {"y": (1, m, size, size)})
    got, want = run_both(graph, {"x": x, "z": z}, threads=threads)
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n,c,m,size,kernel,stride,group,threads", [
    (1, 512, 64, 5, 3, 1, 1, 2), (2, 256, 96, 5, 3, 1, 1, 4), (1, 512, 96, 5, 3, 1, 2, 3),
    (1, 64, 96, 5, 3, 1, 1, 2), (1, 32, 200, 10, 1, 2, 1, 2), (2, 48, 96, 7, 3, 1, 2, 2), (1, 256, 96, 14, 3, 2, 1, 2)])
def test_packed_conv_tiles_shared_by_tasks_match_numpy(n, c, m, size, kernel, stride, group, threads):
    """Threads over few small images split a tile's weight panels among tasks: where the tile's im2col panels are
    large (the first three: k of 2,304-4,608) the tasks read them from one buffer packed beforehand (batch and
    groups with 3-4 threads), else each packs its own; strides, a residual and an activation."""
    rng = np.random.default_rng(RNG_SEED + 1600 + c + m + size)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    pad = kernel // 2
    out = conv_out(size, kernel, stride, 1, pad, pad)
    z = rng.standard_normal((n, m, out, out)).astype(np.float32)
    wt = (rng.standard_normal((m, c // group, kernel, kernel)) / np.sqrt(c * kernel * kernel)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    attrs = {"pads": [pad] * 4, "kernel_shape": [kernel, kernel], "strides": [stride, stride], "group": group,
             "activation": "Relu"}
    node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], attrs, name="c", domain="com.microsoft")
    graph = build([node], {"x": x, "z": z}, {"w": wt, "b": b}, {"y": (n, m, out, out)})
    got, want = run_both(graph, {"x": x, "z": z}, threads=threads)
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel,stride,dilation,threads", [
    ((3, 3), (2, 2), (1, 1), 1), ((3, 3), (2, 2), (2, 2), 2), ((5, 3), (1, 2), (1, 2), 1), ((9, 9), (2, 2), (1, 1), 2),
    ((11, 7), (3, 2), (1, 1), 1), ((9, 9), (1, 1), (2, 1), 1), ((16, 16), (16, 16), (1, 1), 1),
    ((17, 17), (2, 2), (1, 1), 2)])
def test_packed_conv_im2col_matches_numpy(kernel, stride, dilation, threads):
    """Convs whose packed panels im2col the input (stride 2 and up, dilation in either axis, pads on every side):
    a run of outputs along an output row works out each tap's source once for all channels, in a table of up to
    256 taps (a ViT's 16x16 patches); larger kernels (17x17: 289) take one tap at a time.  Image widths that
    leave runs of 1-31 outputs inside a 32-wide panel, batch 2, a residual and an activation."""
    rng = np.random.default_rng(RNG_SEED + 1700 + kernel[0] * 10 + stride[1] + dilation[0])
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    # 100 output channels and a narrow output (7-8 columns): packing costs less than flat rows' dropped columns
    n, c, m, h, w = 2, 7, 100, 23, 15
    pads = [kh // 2, kw // 2 + 1, kh // 2 + 1, kw // 2]
    node, inputs, consts, out_shape = random_conv(rng, 3, (n, c, h, w), m, (kh, kw), (sh, sw), (dh, dw), 1, pads)
    graph = build([node], inputs, consts, {"y": out_shape})
    got, want = run_both(graph, inputs, threads=threads)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("width,height,threads", [(27, 27, 1), (40, 9, 2), (54, 31, 2), (109, 5, 1), (21, 21, 2)])
@pytest.mark.parametrize("pad", [0, 1])
def test_max_pool_3x3_stride2_vector_columns(width, height, threads, pad):
    """3x3 stride-2 max pools whose windows all lie inside the row (SqueezeNet's), or inside it and one pad
    column on each side (ResNet's and Inception's, pad 1: -inf columns around the reduced row): the column
    pass runs 16 outputs per vector step, with a masked last step; bit-identical to the numpy kernel."""
    rng = np.random.default_rng(RNG_SEED + 1500 + width)
    x = rng.standard_normal((2, 7, height, width)).astype(np.float32)
    oh, ow = (height + 2 * pad - 3) // 2 + 1, (width + 2 * pad - 3) // 2 + 1
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [pad] * 4}
    graph = build([Node("MaxPool", ["x"], ["y"], attrs, name="pool")], {"x": x}, {}, {"y": (2, 7, oh, ow)})
    got, want = run_both(graph, {"x": x}, threads=threads)
    np.testing.assert_array_equal(got["y"], want["y"])


@pytest.mark.parametrize("kh,sh,dh,pads", [(3, 2, 1, [1, 0, 0, 1]), (2, 1, 1, [0, 1, 1, 0]), (5, 3, 2, [2, 1, 2, 1]),
                                          (8, 2, 1, [0, 0, 0, 0]), (9, 2, 1, [1, 1, 1, 1]), (3, 2, 1, [0, 0, 1, 1]),
                                          (3, 2, 1, [2, 2, 2, 2])])
def test_max_pool_stride2_columns_any_rows(kh, sh, dh, pads):
    """The register-resident 3-wide stride-2 pass under windows of 2-8 rows (more take the row buffer), row
    strides and dilations, asymmetric pads (Inception-v2's: right and bottom only), pads of 2, with infinities
    and signed zeros among the values: bit-identical to the numpy kernel.  (NaN is left out: which tap's NaN
    wins differs between the native and numpy kernels, as it does among engines; ONNX does not define it.)"""
    rng = np.random.default_rng(RNG_SEED + 1700 + kh)
    x = rng.standard_normal((1, 5, 23, 37)).astype(np.float32)
    flat = x.reshape(-1)
    spots = rng.choice(flat.size, 40, replace=False)
    flat[spots[:10]] = np.inf
    flat[spots[10:20]] = -np.inf
    flat[spots[20:30]] = 0.0
    flat[spots[30:]] = -0.0
    top, left, bottom, right = pads
    oh = (23 + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (37 + left + right - 3) // 2 + 1
    attrs = {"kernel_shape": [kh, 3], "strides": [sh, 2], "dilations": [dh, 1], "pads": pads}
    graph = build([Node("MaxPool", ["x"], ["y"], attrs, name="pool")], {"x": x}, {}, {"y": (1, 5, oh, ow)})
    got, want = run_both(graph, {"x": x}, threads=2)
    np.testing.assert_array_equal(got["y"], want["y"])
    assert np.array_equal(np.signbit(got["y"]), np.signbit(want["y"]))


@pytest.mark.parametrize("m,c", [(40, 64), (100, 48), (12, 8)])
def test_small_image_conv_splits_weight_panels_among_threads(m, c):
    """7x7 images have one or two position tiles: with two threads the weight panels are split among tasks
    too (each task copies the rows it reads); 48 channels x 9 taps also take two k slices."""
    rng = np.random.default_rng(RNG_SEED + 1500 + m)
    x = rng.standard_normal((1, c, 7, 7)).astype(np.float32)
    wt = rng.standard_normal((m, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    node = Node("Conv", ["x", "w", "b"], ["y"], {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}, name="c")
    graph = build([node], {"x": x}, {"w": wt, "b": b}, {"y": (1, m, 7, 7)})
    got, want = run_both(graph, {"x": x}, threads=2)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


def _conv_float64(x, wt, b, pads, z=None, lo=-np.inf, hi=np.inf, groups=1):
    """The reference for Winograd's error: a direct stride-1 conv summed in float64."""
    k, cg, mg = wt.shape[2], wt.shape[1], wt.shape[0] // groups
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh, ow = xp.shape[2] - k + 1, xp.shape[3] - k + 1
    y = np.zeros((x.shape[0], wt.shape[0], oh, ow)) + b.reshape(1, -1, 1, 1)
    for g in range(groups):
        for i in range(k):
            for j in range(k):
                y[:, g * mg:(g + 1) * mg] += np.einsum("nchw,mc->nmhw", xp[:, g * cg:(g + 1) * cg, i:i + oh, j:j + ow],
                                                       wt[g * mg:(g + 1) * mg, :, i, j].astype(np.float64))
    return np.clip(y if z is None else y + z, lo, hi)


@pytest.mark.parametrize("case", range(8))
def test_winograd_conv_matches_numpy(case):
    """3x3 stride-1 convs wide enough for F(2x2, 3x3) and too small for F(4x4, 3x3) (9x9 and 10x10 outputs:
    25 tiles of 2x2 fill two 16-tile panels, 9 of 4x4 one, for 36 GEMMs against 32): odd sizes (partial
    tiles), pads 0-2 (also asymmetric), residual, ReLU/Clip/none, three images."""
    rng = np.random.default_rng(RNG_SEED + 1300 + case)
    c, m = [64, 65, 96, 70][case % 4], [64, 80, 72, 96][(case + 1) % 4]
    pads = [[1, 1, 1, 1], [0, 0, 0, 0], [2, 2, 2, 2], [1, 0, 2, 1]][case % 4]
    oh, ow = int(rng.integers(9, 11)), int(rng.integers(9, 11))
    h, w = oh + 2 - pads[0] - pads[2], ow + 2 - pads[1] - pads[3]
    x = rng.standard_normal((3, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((m, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    z = rng.standard_normal((3, m, oh, ow)).astype(np.float32)
    act = [("Relu", []), ("Clip", [-0.5, 0.8]), ("", [])][case % 3]
    attrs = {"pads": pads, "kernel_shape": [3, 3], "activation_params": act[1]}
    if act[0]:
        attrs["activation"] = act[0]
    inputs = {"x": x, "z": z} if case % 2 else {"x": x}
    node = Node("FusedConv", ["x", "w", "b", "z" if case % 2 else ""], ["y"], attrs, name="c", domain="com.microsoft")
    graph = build([node], inputs, {"w": wt, "b": b}, {"y": (3, m, oh, ow)})
    part = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21, "com.microsoft": 1}), native=True)
    assert module().STEP_CONV2D_WINOGRAD in part.native_segments[0].step_kinds
    got, want = run_both(graph, inputs)
    assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size,m", [(14, 80), (13, 100), (16, 64)])
def test_winograd_small_image_splits_weight_panels_among_threads(size, m):
    """One image of few tiles (16 of 4x4 at 13x13 to 16x16: one 16-tile panel) on two threads: the tile
    block is not cut below a panel, the weight panels are split among the tasks instead, each transforming the
    input itself and writing only its own channels.  Checked against a float64 direct conv (F(4x4)'s error)."""
    rng = np.random.default_rng(RNG_SEED + 1350 + size)
    c = 72
    x = rng.standard_normal((1, c, size, size)).astype(np.float32)
    wt = (rng.standard_normal((m, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    graph = build([Node("Conv", ["x", "w", "b"], ["y"], {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}, name="c")],
                  {"x": x}, {"w": wt, "b": b}, {"y": (1, m, size, size)})
    part = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21}), native=True)
    assert module().STEP_CONV2D_WINOGRAD4 in part.native_segments[0].step_kinds
    got = run_both(graph, {"x": x}, threads=2)[0]["y"]
    want = _conv_float64(x, wt, b, [1, 1, 1, 1])
    assert np.linalg.norm(got - want) <= 3e-6 * np.linalg.norm(want), np.linalg.norm(got - want) / np.linalg.norm(want)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("case", range(6))
def test_winograd_4x4_tiles_on_large_maps(case):
    """Maps of 28-45 (partial 4x4 tiles on both axes, pads 0-2 and asymmetric, one or two images, residual and
    clamps) take F(4x4, 3x3).  Against a direct conv summed in float64: the error's norm under 3e-6 of the
    output's (measured 1.1-1.4e-6 on such layers; float32 direct and F(2x2) 2e-7; a wrong transform entry
    gives ~1e-1), and no element off by more than 1e-4 of the largest."""
    rng = np.random.default_rng(RNG_SEED + 1370 + case)
    c, m = [64, 67, 128, 80, 64, 96][case], [64, 96, 70, 64, 130, 64][case]
    n = 1 + case % 2
    h, w = int(rng.integers(28, 46)), int(rng.integers(28, 46))
    pads = [[1, 1, 1, 1], [0, 0, 0, 0], [2, 2, 2, 2], [1, 0, 2, 1], [0, 2, 1, 0], [1, 1, 1, 1]][case]
    oh, ow = conv_out(h, 3, 1, 1, pads[0], pads[2]), conv_out(w, 3, 1, 1, pads[1], pads[3])
    x = np.maximum(rng.standard_normal((n, c, h, w)), 0).astype(np.float32)
    wt = (rng.standard_normal((m, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    z = rng.standard_normal((n, m, oh, ow)).astype(np.float32) if case % 3 == 1 else None
    act_name, act_params, lo, hi = [("Relu", [], 0.0, np.inf), ("", [], -np.inf, np.inf),
                                    ("Clip", [-0.5, 0.8], -0.5, 0.8)][case % 3]
    attrs = {"pads": pads, "kernel_shape": [3, 3], "activation_params": act_params}
    if act_name:
        attrs["activation"] = act_name
    inputs = {"x": x} if z is None else {"x": x, "z": z}
    node = Node("FusedConv", ["x", "w", "b", "" if z is None else "z"], ["y"], attrs, name="c", domain="com.microsoft")
    graph = build([node], inputs, {"w": wt, "b": b}, {"y": (n, m, oh, ow)})
    part = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21, "com.microsoft": 1}), native=True)
    assert module().STEP_CONV2D_WINOGRAD4 in part.native_segments[0].step_kinds
    got = run_both(graph, inputs)[0]["y"]
    want = _conv_float64(x, wt, b, pads, z, lo, hi)
    assert np.linalg.norm(got - want) <= 3e-6 * np.linalg.norm(want), np.linalg.norm(got - want) / np.linalg.norm(want)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("kernel,c,m,size,threads,step", [
    (3, 64, 64, 28, 1, "STEP_CONV2D_WINOGRAD4"),  # 49 tiles of 4x4: 32 + 16 + 1
    (3, 40, 20, 20, 1, "STEP_CONV2D_WINOGRAD4"),  # 25 tiles: 16 + 9; 20 channels: a partial 12-row panel
    (3, 96, 130, 27, 2, "STEP_CONV2D_WINOGRAD4"),
    (5, 48, 64, 13, 1, "STEP_CONV2D_WINOGRAD")])  # F(2x2, 5x5): 49 tiles of 2x2
def test_winograd_narrow_last_panel(kernel, c, m, size, threads, step):
    """A block whose last 32-tile panel has 17-25 valid tiles runs them as one 12 x 16 tile and single
    columns (the rest of the panel is zeros the output transform never uses): against a float64 direct conv."""
    rng = np.random.default_rng(RNG_SEED + 1390 + size + m)
    pad = kernel // 2
    x = np.maximum(rng.standard_normal((1, c, size, size)), 0).astype(np.float32)
    wt = (rng.standard_normal((m, c, kernel, kernel)) * np.sqrt(2 / (kernel * kernel * c))).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    attrs = {"pads": [pad] * 4, "kernel_shape": [kernel, kernel]}
    graph = build([Node("Conv", ["x", "w", "b"], ["y"], attrs, name="c")], {"x": x}, {"w": wt, "b": b},
                  {"y": (1, m, size, size)})
    part = CpuPartition(graph, CompileContext(threads=threads, opsets={"": 21}), native=True)
    assert getattr(module(), step) in part.native_segments[0].step_kinds
    got = run_both(graph, {"x": x}, threads=threads)[0]["y"]
    want = _conv_float64(x, wt, b, [pad] * 4)
    assert np.linalg.norm(got - want) <= 3e-6 * np.linalg.norm(want), np.linalg.norm(got - want) / np.linalg.norm(want)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("kernel,groups,c,m,size,pads,step", [
    (5, 1, 32, 64, 28, [2, 2, 2, 2], "STEP_CONV2D_WINOGRAD"),        # GoogLeNet's 5x5 branches
    (5, 2, 96, 256, 27, [2, 2, 2, 2], "STEP_CONV2D_WINOGRAD"),       # AlexNet's grouped 5x5
    (5, 3, 72, 75, 21, [4, 0, 1, 4], "STEP_CONV2D_WINOGRAD"),        # odd groups, pads up to k - 1
    (3, 2, 96, 128, 29, [1, 1, 1, 1], "STEP_CONV2D_WINOGRAD4"),      # grouped F(4x4, 3x3)
    (3, 2, 384, 384, 13, [1, 1, 1, 1], "STEP_CONV2D_WINOGRAD4"),     # AlexNet's grouped 3x3: one 16-tile panel
    (3, 3, 48, 96, 33, [0, 2, 2, 0], "STEP_CONV2D_WINOGRAD4"),
    (3, 1, 128, 96, 7, [1, 1, 1, 1], "STEP_CONV2D_WINOGRAD"),        # ResNet's 7x7 maps: one 16-tile panel
])
def test_winograd_5x5_and_groups(kernel, groups, c, m, size, pads, step):
    """F(2x2, 5x5) and grouped Winograd (each group its own GEMMs over its channels) against a float64 direct
    conv: error norm under 3e-6 of the output's (measured 0.7-1.2e-6; F(2x2, 3x3) 3e-7), two images, a
    ReLU; and the lowering took the variant named."""
    rng = np.random.default_rng(RNG_SEED + 1390 + kernel * 10 + groups)
    x = rng.standard_normal((2, c, size, size + 3)).astype(np.float32)
    wt = (rng.standard_normal((m, c // groups, kernel, kernel)) / np.sqrt(kernel * kernel * c / groups)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    want = _conv_float64(x, wt, b, pads, lo=0.0, groups=groups)
    attrs = {"pads": pads, "kernel_shape": [kernel, kernel], "group": groups, "activation": "Relu",
             "activation_params": []}
    graph = build([Node("FusedConv", ["x", "w", "b"], ["y"], attrs, name="c", domain="com.microsoft")], {"x": x},
                  {"w": wt, "b": b}, {"y": want.shape})
    part = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21, "com.microsoft": 1}), native=True)
    assert getattr(module(), step) in part.native_segments[0].step_kinds
    got = run_both(graph, {"x": x})[0]["y"]
    assert np.linalg.norm(got - want) <= 3e-6 * np.linalg.norm(want), np.linalg.norm(got - want) / np.linalg.norm(want)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("axis,index", [(0, 2), (1, -1), (2, 0), (1, np.array([3]))])
def test_gather_one_index_matches_numpy(axis, index):
    x = np.random.default_rng(RNG_SEED + 1400).standard_normal((3, 5, 7)).astype(np.float32)
    idx = np.array(index, np.int64)
    out = np.take(x, idx, axis=axis).shape
    graph = build([Node("Gather", ["x", "i"], ["y"], {"axis": axis}, name="g")], {"x": x}, {"i": idx}, {"y": out})
    got, want = run_both(graph, {"x": x})
    assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("n,c,m,size,threads", [(1, 37, 20, (7, 7), 1), (2, 64, 130, (9, 11), 2),
                                                (1, 200, 128, (14, 14), 2), (1, 13, 8, (5, 21), 1)])
def test_preactivation_folds_into_the_1x1_conv(n, c, m, size, threads):
    """BatchNorm + ReLU before a 1x1 conv become the conv's packing of its input (max(x * scale + shift, 0) per
    channel): no affine step runs, and the result matches numpy's three nodes; odd channel counts, partial
    weight panels, narrow last panels (7x7: 49 = 32 + 17), two images, two threads."""
    rng = np.random.default_rng(RNG_SEED + 1800 + c)
    graph, inputs = preact_block(rng, n, c, m, *size)
    part = CpuPartition(graph, CompileContext(threads=threads, opsets={"": 21}), native=True)
    kinds = part.native_segments[0].step_kinds
    assert kinds == [module().STEP_CONV2D_PACKED_PREACT], kinds
    got, want = run_both(graph, inputs, threads=threads)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("extra_reader,kernel", [(True, 1), (False, 3)])
def test_preactivation_stays_a_step_where_it_cannot_fold(extra_reader, kernel):
    """The ReLU's output read by anything else (here: a graph output), or a conv that is not 1x1: the affine
    keeps its own step."""
    rng = np.random.default_rng(RNG_SEED + 1850 + kernel)
    graph, inputs = preact_block(rng, 1, 16, 24, 8, 8, extra_reader, kernel)
    part = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21}), native=True)
    kinds = part.native_segments[0].step_kinds
    assert module().STEP_AFFINE in kinds and module().STEP_CONV2D_PACKED_PREACT not in kinds, kinds
    got, want = run_both(graph, inputs)
    assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_program_refuses_a_preactivation_conv_that_is_not_1x1():
    """The library takes the pre-activation only on a 1x1, stride-1, unpadded, ungrouped conv, with a scale and
    a shift of one float per input channel."""
    native = module()
    n, c, h, w, m = 1, 8, 6, 6, 12
    packed = native.packed_bytes("conv", rows=m, k=c, groups=1)
    sizes = [n * c * h * w * 4, packed, m * 4, 0, n * m * h * w * 4, c * 4, c * 4]
    program = native.Program(sizes)
    ints = (n, c, h, w, m, h, w, 1, 1, 1, 1, 1, 1, 0, 0, 1, native.ACT_NONE)
    program.add(native.STEP_CONV2D_PACKED_PREACT, (0, 1, 2, -1, 4, 5, 6), ints, (0.0, 0.0))
    with pytest.raises(ValueError, match="refused"):
        program.add(native.STEP_CONV2D_PACKED_PREACT, (0, 1, 2, -1, 4, 5, 6),
                    (n, c, h, w, m, h, w, 1, 1, 2, 2, 1, 1, 0, 0, 1, native.ACT_NONE), (0.0, 0.0))
    short = native.Program(sizes[:5] + [c * 4 - 4, c * 4])
    with pytest.raises(ValueError, match="refused"):
        short.add(native.STEP_CONV2D_PACKED_PREACT, (0, 1, 2, -1, 4, 5, 6), ints, (0.0, 0.0))
