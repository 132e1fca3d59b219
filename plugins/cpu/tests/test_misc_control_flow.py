"""Control flow (If, Loop, Scan) end to end through litert, against onnxruntime.

The ONNX node cases only cover scan axes 0, forward directions and flat
bodies; these cases add scan axes/directions, early loop exits, zero-trip
loops, nested bodies reading values two scopes up, and pass-through outputs.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h

import litert

F = T.FLOAT
vi = h.make_tensor_value_info
RNG = np.random.default_rng(0)


def _model(nodes, inputs, outputs, inits=(), opset=21):
    graph = h.make_graph(nodes, "g", inputs, [vi(n, F, None) if isinstance(n, str) else n for n in outputs], list(inits))
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])


def _litert(model, feeds, tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    return litert.load(path).predict(feeds)


def _check_vs_ort(model, feeds, tmp_path):
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    got = _litert(model, feeds, tmp_path)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.shape == r.shape and g.dtype == r.dtype, (g.shape, r.shape, g.dtype, r.dtype)
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    return got


# -- Scan --------------------------------------------------------------------

def _scan_body():
    """state s[3]; scan slices a[3], b[3]; outputs s + a*b*w (w outer), a - b, [a; b] as 2x3."""
    return h.make_graph(
        [
            h.make_node("Mul", ["a", "b"], ["ab"]),
            h.make_node("Mul", ["ab", "w"], ["abw"]),
            h.make_node("Add", ["s", "abw"], ["s2"]),
            h.make_node("Sub", ["a", "b"], ["d"]),
            h.make_node("Concat", ["a", "b"], ["cat"], axis=0),
            h.make_node("Reshape", ["cat", "shp"], ["o2"]),
        ],
        "body",
        [vi(n, F, [3]) for n in ("s", "a", "b")],
        [vi("s2", F, [3]), vi("d", F, [3]), vi("o2", F, [2, 3])],
        [h.make_tensor("shp", T.INT64, [2], [2, 3])],
    )


@pytest.mark.parametrize(
    "in_axes,in_dirs,out_axes,out_dirs",
    [
        ([0, 0], [0, 0], [0, 0], [0, 0]),
        ([1, 0], [1, 0], [1, -1], [1, 0]),
        ([-1, 0], [0, 1], [-2, 2], [0, 1]),
    ],
)
def test_scan_axes_and_directions(in_axes, in_dirs, out_axes, out_dirs, tmp_path):
    node = h.make_node(
        "Scan", ["s0", "A", "B"], ["sf", "D", "O"], body=_scan_body(), num_scan_inputs=2,
        scan_input_axes=in_axes, scan_input_directions=in_dirs,
        scan_output_axes=out_axes, scan_output_directions=out_dirs,
    )
    model = _model(
        [node], [vi("s0", F, [3]), vi("A", F, None), vi("B", F, None)], ["sf", "D", "O"],
        [h.make_tensor("w", F, [3], [1, 2, 3])],
    )
    a = RNG.standard_normal((3, 5) if in_axes[0] else (5, 3)).astype(np.float32)
    b = RNG.standard_normal((5, 3)).astype(np.float32)
    _check_vs_ort(model, {"s0": np.zeros(3, np.float32), "A": a, "B": b}, tmp_path)


# -- Loop --------------------------------------------------------------------

def _loop_model():
    """Loop(M, cond, X, K): body runs If(flag) (then reads main-graph W), adds
    main-graph X, stops once the sum exceeds `limit`; K passes straight through."""
    then_b = h.make_graph([h.make_node("Mul", ["x", "W"], ["t_out"])], "then", [], [vi("t_out", F, [3])])
    else_b = h.make_graph([h.make_node("Identity", ["x"], ["e_out"])], "else", [], [vi("e_out", F, [3])])
    body = h.make_graph(
        [
            h.make_node("If", ["flag"], ["y"], then_branch=then_b, else_branch=else_b),
            h.make_node("Add", ["y", "X"], ["x2"]),
            h.make_node("ReduceSum", ["x2"], ["total"], keepdims=0),
            h.make_node("Less", ["total", "limit"], ["c2"]),
            h.make_node("Cast", ["i"], ["fi"], to=F),
            h.make_node("Mul", ["x2", "fi"], ["scan1"]),
        ],
        "body",
        [vi("i", T.INT64, []), vi("c", T.BOOL, []), vi("x", F, [3]), vi("k", F, [3])],
        [vi("c2", T.BOOL, []), vi("x2", F, [3]), vi("k", F, [3]), vi("scan1", F, [3])],
    )
    return _model(
        [h.make_node("Loop", ["M", "cond", "X", "K"], ["xf", "kf", "sc"], body=body),
         h.make_node("Add", ["xf", "W"], ["out"])],
        [vi("M", T.INT64, []), vi("cond", T.BOOL, []), vi("X", F, [3]), vi("K", F, [3]),
         vi("flag", T.BOOL, []), vi("limit", F, [])],
        ["out", "kf", "sc"],
        [h.make_tensor("W", F, [3], [1, 2, 3])],
    )


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("trips,cond,limit", [(0, True, 1e9), (1, True, 1e9), (6, True, 1e9), (6, True, 40.0), (6, False, 1e9)])
def test_loop_trip_count_and_condition(flag, trips, cond, limit, tmp_path):
    feeds = {
        "M": np.array(trips, np.int64), "cond": np.array(cond), "X": np.arange(3, dtype=np.float32),
        "K": np.ones(3, np.float32), "flag": np.array(flag), "limit": np.array(limit, np.float32),
    }
    _check_vs_ort(_loop_model(), feeds, tmp_path)


def test_nested_loops_read_outer_scopes(tmp_path):
    """An inner Loop reads the outer body's carried value and a main-graph value."""
    inner = h.make_graph(
        [h.make_node("Add", ["acc", "x"], ["acc1"]), h.make_node("Mul", ["acc1", "S"], ["acc2"]),
         h.make_node("Identity", ["c"], ["c_out"])],
        "inner", [vi("j", T.INT64, []), vi("c", T.BOOL, []), vi("acc", F, [2])],
        [vi("c_out", T.BOOL, []), vi("acc2", F, [2])],
    )
    outer = h.make_graph(
        [h.make_node("Loop", ["N", "", "x"], ["x_in"], body=inner), h.make_node("Identity", ["c"], ["c_out"]),
         h.make_node("Identity", ["x_in"], ["snap"])],
        "outer", [vi("i", T.INT64, []), vi("c", T.BOOL, []), vi("x", F, [2])],
        [vi("c_out", T.BOOL, []), vi("x_in", F, [2]), vi("snap", F, [2])],
    )
    model = _model(
        [h.make_node("Loop", ["M", "", "X"], ["xf", "snaps"], body=outer)],
        [vi("M", T.INT64, []), vi("N", T.INT64, []), vi("X", F, [2]), vi("S", F, [])], ["xf", "snaps"],
    )
    feeds = {"M": np.array(3, np.int64), "N": np.array(2, np.int64), "X": np.array([1, -2], np.float32),
             "S": np.array(0.5, np.float32)}
    _check_vs_ort(model, feeds, tmp_path)


def test_loop_without_cond_input_ignores_body_cond(tmp_path):
    """ONNX spec: with no ``cond`` input the body's cond output is ignored (a for loop)."""
    body = h.make_graph(
        [h.make_node("Constant", [], ["stop"], value=h.make_tensor("f", T.BOOL, [], [False])),
         h.make_node("Add", ["x", "one"], ["y"]), h.make_node("Identity", ["y"], ["s"])],
        "body", [vi("i", T.INT64, []), vi("c", T.BOOL, []), vi("x", F, [])],
        [vi("stop", T.BOOL, []), vi("y", F, []), vi("s", F, [])], [h.make_tensor("one", F, [], [1.0])],
    )
    model = _model([h.make_node("Loop", ["M", "", "x0"], ["xf", "ss"], body=body)],
                   [vi("M", T.INT64, []), vi("x0", F, [])], ["xf", "ss"])
    xf, ss = _litert(model, {"M": np.array(4, np.int64), "x0": np.array(0, np.float32)}, tmp_path)
    assert xf == 4 and ss.tolist() == [1, 2, 3, 4] and ss.dtype == np.float32
    xf, ss = _litert(model, {"M": np.array(0, np.int64), "x0": np.array(0, np.float32)}, tmp_path)
    assert xf == 0 and ss.shape == (0,) and ss.dtype == np.float32


# -- If ----------------------------------------------------------------------

def test_if_branch_returns_outer_values_directly(tmp_path):
    """Branches with no nodes whose outputs are a graph input and an initializer."""
    model = _model(
        [h.make_node("If", ["c"], ["r"], then_branch=h.make_graph([], "t", [], [vi("X", F, [3])]),
                     else_branch=h.make_graph([], "e", [], [vi("W", F, [3])]))],
        [vi("X", F, [3]), vi("c", T.BOOL, [])], ["r"], [h.make_tensor("W", F, [3], [1, 2, 3])],
    )
    x = np.array([7, 8, 9], np.float32)
    (r,) = _litert(model, {"X": x, "c": np.array(True)}, tmp_path)
    np.testing.assert_array_equal(r, x)
    (r,) = _litert(model, {"X": x, "c": np.array(False)}, tmp_path)
    np.testing.assert_array_equal(r, [1, 2, 3])


def test_if_with_constant_condition(tmp_path):
    then_b = h.make_graph([h.make_node("Mul", ["X", "W"], ["a"])], "t", [], [vi("a", F, [3])])
    else_b = h.make_graph([h.make_node("Sub", ["X", "W"], ["b"])], "e", [], [vi("b", F, [3])])
    model = _model([h.make_node("If", ["C"], ["r"], then_branch=then_b, else_branch=else_b)], [vi("X", F, [3])], ["r"],
                   [h.make_tensor("W", F, [3], [1, 2, 3]), h.make_tensor("C", T.BOOL, [], [False])])
    _check_vs_ort(model, {"X": np.arange(3, dtype=np.float32)}, tmp_path)
