"""Type and shape inference (``litert.schema.inference``) against the official
ONNX node cases, plus the semantics the cases do not exercise (symbolic dims,
shape-data propagation, control flow, never guessing).

For every node case the model is read with the ONNX frontend, every type the
frontend knows beyond the graph inputs and constants is forgotten (so ONNX's
own inference plays no part), and litert's rules re-infer the graph.  Each
graph output whose type the rules give must match the case's expected output
array: same dtype, same rank, same size on every known dim.  No rule may
fail (``strict``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from helpers.conformance import SUMMARY, _normalize, node_cases

from litert.ir import DType, Graph, Node, Value
from litert.runtime import read_model
from litert.schema import schemas
from litert.schema.inference import RULES, infer_shapes

#: graph outputs of the node cases with a fully inferred type (measured; onnx 1.23)
RECORDED_FULLY_KNOWN = 1939
MARGIN = 10
#: tensor kinds an expected output may carry
_KINDS = {"tensor": {"tensor", "optional"}, "sequence": {"sequence", "optional"}, "optional": {"optional"}}


def forget_types(graph: Graph) -> None:
    """Drop every type the frontend found, except graph inputs and constants."""
    for name, value in graph.values.items():
        if name not in graph.inputs and not value.is_const:
            value.dtype, value.shape, value.kind = None, None, "tensor"
    for node in graph.nodes:
        for sub in node.subgraphs():
            forget_types(sub)


def _expected(item):
    """(kind, element arrays) of one expected output."""
    item = _normalize(item)
    if isinstance(item, np.generic):
        item = np.asarray(item)
    if isinstance(item, np.ndarray):
        return "tensor", [item]
    if isinstance(item, list):
        return "sequence", [np.asarray(e) for e in item]
    if item is None:
        return "optional", []
    return type(item).__name__, []


def _mismatch(value: Value, kind: str, arrays: list[np.ndarray]) -> str | None:
    if (value.dtype is not None or value.shape is not None) and value.kind not in _KINDS.get(kind, ()):
        return f"kind {value.kind}, expected {kind}"
    for arr in arrays:
        if value.dtype is not None and value.dtype != DType.from_numpy(arr.dtype):
            return f"dtype {value.dtype}, expected {DType.from_numpy(arr.dtype)}"
        if value.shape is not None and (len(value.shape) != arr.ndim or any(
                isinstance(d, int) and d != s for d, s in zip(value.shape, arr.shape))):
            return f"shape {value.shape}, expected {arr.shape}"
    return None


def _fully_known(value: Value, kind: str) -> bool:
    return (value.dtype is not None and value.shape is not None and value.kind in _KINDS.get(kind, ())
            and all(isinstance(d, int) for d in value.shape))


@pytest.fixture(scope="module")
def conformance_results():
    cases = node_cases()
    wrong, outputs, fully, typed = [], 0, 0, 0
    unknown_ops: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="litert-shapes-") as tmp:
        path = Path(tmp) / "model.onnx"
        for case in cases:
            path.write_bytes(case.model)
            graph = read_model(path).graph
            forget_types(graph)
            infer_shapes(graph, strict=True)
            producers = graph.producers()
            for name, want in zip(graph.outputs, case.data_sets[0][1]):
                value = graph.values[name]
                kind, arrays = _expected(want)
                outputs += 1
                problem = _mismatch(value, kind, arrays)
                if problem:
                    wrong.append(f"{case.name}: output {name!r}: {problem}")
                if _fully_known(value, kind):
                    fully += 1
                else:
                    op = producers[name].qualified_op if name in producers else "(input)"
                    unknown_ops[op] = unknown_ops.get(op, 0) + 1
                typed += value.dtype is not None
    return {"wrong": wrong, "outputs": outputs, "fully": fully, "typed": typed, "unknown_ops": unknown_ops}


def test_every_operator_has_a_rule():
    missing = [f"{d or 'ai.onnx'}::{op}" for d, op in schemas().ops() if (d, op) not in RULES]
    assert not missing, f"operators without an inference rule: {missing}"


def test_node_cases_inferred_types_are_right(conformance_results):
    r = conformance_results
    line = (f"shape inference on onnx node cases: {r['fully']}/{r['outputs']} outputs fully known "
            f"({r['fully'] / r['outputs']:.1%}), {r['typed']} with dtype, {len(r['wrong'])} wrong")
    SUMMARY.append(line)
    print(line)
    assert not r["wrong"], "inferred types that do not match the case outputs:\n  " + "\n  ".join(r["wrong"][:50])


def test_node_cases_coverage_does_not_drop(conformance_results):
    r = conformance_results
    assert r["fully"] >= RECORDED_FULLY_KNOWN - MARGIN, (
        f"{r['fully']} outputs fully inferred, recorded {RECORDED_FULLY_KNOWN}; unknown by producer: "
        f"{sorted(r['unknown_ops'].items(), key=lambda kv: -kv[1])[:20]}")


# ---------------------------------------------------------------- semantics on small graphs


def _graph(nodes, inputs: dict, consts: dict | None = None, outputs=None) -> Graph:
    g = Graph(nodes=nodes, inputs=list(inputs))
    for name, (dtype, shape) in inputs.items():
        g.values[name] = Value(name, dtype, shape)
    for name, arr in (consts or {}).items():
        arr = np.asarray(arr)
        g.values[name] = Value(name, DType.from_numpy(arr.dtype), arr.shape, const=arr)
    g.outputs = outputs or [nodes[-1].outputs[0]]
    return g


F32, I64 = DType.FLOAT32, DType.INT64


def test_symbolic_dims_broadcast_and_flow():
    g = _graph([
        Node("Add", ["x", "b"], ["y"]),
        Node("MatMul", ["y", "w"], ["z"]),
        Node("Equal", ["z", "z"], ["mask"]),
        Node("Flatten", ["x"], ["flat"], {"axis": 1}),
    ], {"x": (F32, ("N", 3)), "b": (F32, (1, 3)), "w": (F32, (3, 5))})
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == ("N", 3)
    assert g.values["z"].shape == ("N", 5) and g.values["z"].dtype is F32
    assert g.values["mask"].dtype is DType.BOOL and g.values["mask"].shape == ("N", 5)
    assert g.values["flat"].shape == ("N", 3)


def test_shape_computations_propagate_into_reshape():
    # Reshape(x, Concat(Shape(x)[0:1], [-1])): the batch symbol survives, -1 is solved
    g = _graph([
        Node("Shape", ["x"], ["s"]),
        Node("Slice", ["s", "zero", "one"], ["batch"]),
        Node("Concat", ["batch", "minus1"], ["target"], {"axis": 0}),
        Node("Reshape", ["x", "target"], ["y"]),
    ], {"x": (F32, ("N", 3, 4))}, {"zero": np.array([0]), "one": np.array([1]), "minus1": np.array([-1])})
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == ("N", 12)
    assert g.values["target"].const is None  # content is tracked by inference, never written as a constant


def test_data_dependent_dims_stay_unknown():
    g = _graph([
        Node("NonZero", ["x"], ["nz"]),
        Node("Reshape", ["x", "shape"], ["r"]),
        Node("TopK", ["x", "k"], ["v", "i"], {"axis": -1}),
        Node("Unsqueeze", ["x", "axes"], ["u"]),
    ], {"x": (F32, (2, 6)), "shape": (I64, (3,)), "k": (I64, (1,)), "axes": (I64, (1,))})
    infer_shapes(g, strict=True)
    assert g.values["nz"].shape == (2, None) and g.values["nz"].dtype is I64
    assert g.values["r"].shape == (None, None, None)
    assert g.values["v"].shape == (2, None) and g.values["i"].dtype is I64
    assert g.values["u"].shape == (None, None, None)


def test_shaped_rules_leave_an_unknown_input_shape_unknown():
    """The rules registered with ``shaped_rule`` (Slice, Pad, DFT, ConcatFromSequence, the reductions...) give
    an unknown shape of the input's dtype while input 0's shape is unknown, and work with it once known."""
    shaped = {key: fn for key, fn in RULES.items() if getattr(fn, "__wrapped__", None) is not None}
    assert {("", "Slice"), ("", "DFT"), ("", "ConcatFromSequence"), ("", "ReduceSum")} <= set(shaped)
    for (domain, op), fn in shaped.items():
        node = Node(op, ["x"], ["y"], domain=domain)
        assert fn(node, [Value("x", F32, None)], Graph()) == [(F32, None)], op
    g = _graph([Node("ReduceSum", ["x"], ["r"], {"keepdims": 0})], {"x": (F32, (2, 6))})
    infer_shapes(g, strict=True)
    assert g.values["r"].shape == ()


def _loop_body() -> Graph:
    # state grows by one element per iteration; the scan output is the state
    body = _graph([
        Node("Identity", ["cond_in"], ["cond_out"]),
        Node("Concat", ["state_in", "one"], ["state_out"], {"axis": 0}),
        Node("ReduceSum", ["state_out"], ["total"], {"keepdims": 1}),
    ], {"i": (None, None), "cond_in": (None, None), "state_in": (None, None)},
        {"one": np.ones(1, np.float32)}, outputs=["cond_out", "state_out", "total"])
    return body


def test_loop_state_that_changes_shape_is_not_guessed():
    body = _loop_body()
    g = _graph([Node("Loop", ["trips", "cond", "init"], ["final", "totals"], {"body": body})],
               {"init": (F32, (1,))}, {"trips": np.array(3), "cond": np.array(True)})
    infer_shapes(g, strict=True)
    assert g.values["final"].dtype is F32 and g.values["final"].shape == (None,)
    assert g.values["totals"].shape == (3, 1)  # trip count known: cond passes through unchanged
    assert "state_out" not in body.values and body.values["state_in"].shape is None  # the body is not written


def test_if_merges_branches_or_follows_a_known_condition():
    def branch(n):
        return _graph([Node("Identity", ["c"], ["out"])], {}, {"c": np.zeros((n, 2), np.float32)})

    g = _graph([Node("If", ["cond"], ["y"], {"then_branch": branch(3), "else_branch": branch(4)})],
               {"cond": (DType.BOOL, ())})
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == (None, 2) and g.values["y"].dtype is F32
    g = _graph([Node("If", ["cond"], ["y"], {"then_branch": branch(3), "else_branch": branch(4)})],
               {}, {"cond": np.array(False)})
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == (4, 2)


def test_known_types_are_kept():
    g = _graph([Node("Relu", ["x"], ["y"])], {"x": (F32, ("N", 3))})
    g.values["y"] = Value("y", F32, (8, 3))
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == (8, 3)


def test_declared_graph_output_contradicting_its_op_gives_way():
    """onnxruntime's lenient merge: a graph output declared with another rank or another static size than
    its op makes takes the op's shape (the light zoo declares some outputs rank 0); a declaration that only
    refines a symbolic dim is kept."""
    g = _graph([Node("Relu", ["x"], ["h"]), Node("Flatten", ["h"], ["y"], {"axis": 1}), Node("Relu", ["x"], ["r"]),
                Node("Relu", ["x"], ["s"])], {"x": (F32, ("N", 3, 2))}, outputs=["y", "r", "s"])
    g.values["y"] = Value("y", F32, ())
    g.values["r"] = Value("r", F32, (4, 3, 5))
    g.values["s"] = Value("s", F32, (8, 3, 2))
    infer_shapes(g, strict=True)
    assert g.values["y"].shape == ("N", 6)
    assert g.values["r"].shape == ("N", 3, 2)
    assert g.values["s"].shape == (8, 3, 2)


def test_sequences_and_dtype_rules():
    g = _graph([
        Node("SequenceConstruct", ["a", "b"], ["seq"]),
        Node("SequenceAt", ["seq", "pos"], ["elem"]),
        Node("QuantizeLinear", ["a", "scale", "zp"], ["q"]),
        Node("Cast", ["a"], ["h"], {"to": DType.FLOAT16.value}),
        Node("ArgMax", ["a"], ["am"], {"axis": 1, "keepdims": 0}),
        Node("Shape", ["a"], ["shape"]),
    ], {"a": (F32, (2, 3)), "b": (F32, (4, 3)), "pos": (I64, ())},
        {"scale": np.float32(0.1), "zp": np.int8(0)})
    infer_shapes(g, strict=True)
    seq = g.values["seq"]
    assert (seq.kind, seq.dtype, seq.shape) == ("sequence", F32, (None, 3))
    assert (g.values["elem"].kind, g.values["elem"].shape) == ("tensor", (None, 3))
    assert g.values["q"].dtype is DType.INT8
    assert g.values["h"].dtype is DType.FLOAT16
    assert (g.values["am"].dtype, g.values["am"].shape) == (I64, (2,))
    assert (g.values["shape"].dtype, g.values["shape"].shape) == (I64, (2,))
