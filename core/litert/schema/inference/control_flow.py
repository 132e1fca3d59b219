"""Control flow: If, Loop, Scan, SequenceMap.  Output types come from the
bodies, inferred in the scope of the node (bodies read outer values by name).

Loop-carried and Scan state values may change shape from one iteration to
the next: the body is inferred with the state types of the first iteration,
then again with the merged types until they reach a fixed point (dims that
change become unknown).
"""
from __future__ import annotations

from collections.abc import Sequence

from ...ir import Dim, DType, Graph, Node
from ._base import Info, Inputs, is_omitted, kind_of, merge_info, merge_shape, norm_axis, rule, same, scalar
from ._engine import infer_subgraph

_SCALAR_INT = (DType.INT64, ())
_SCALAR_BOOL = (DType.BOOL, ())
_MAX_TRIALS = 4


@rule("If")
def _if(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    then_infos = infer_subgraph(node.attrs["then_branch"])
    else_infos = infer_subgraph(node.attrs["else_branch"])
    cond = scalar(inputs, 0)
    if cond is not None:
        return then_infos if cond else else_infos
    return [merge_info([a, b]) for a, b in zip(then_infos, else_infos)]


def _settle(body: Graph, prefix: list[Info], state: list[Info], offset: int,
            suffix: Sequence[Info] = ()) -> tuple[list[Info], list[Info]]:
    """State types stable across iterations, and the body's output types for
    them: body outputs ``offset..`` feed the state inputs (between ``prefix``
    and ``suffix``) of the next iteration."""
    for _ in range(_MAX_TRIALS):
        outputs = infer_subgraph(body, [*prefix, *state, *suffix])
        merged = []
        for before, after in zip(state, outputs[offset:offset + len(state)]):
            merged.append((before[0] or after[0], merge_shape(before[1], after[1]), kind_of(before) or kind_of(after)))
        if merged == state:
            return state, outputs
        state = merged
    state = [(s[0], None, kind_of(s)) for s in state]
    return state, infer_subgraph(body, [*prefix, *state, *suffix])


def _passes_through(body: Graph, output: str, source: str) -> bool:
    """Whether body output ``output`` is body input ``source`` (directly or via Identity)."""
    while output != source:
        producer = next((n for n in body.nodes if output in n.outputs), None)
        if producer is None or producer.op_type != "Identity" or producer.domain != "":
            return False
        output = producer.inputs[0]
    return True


def _trip_count(node: Node, inputs: Inputs, body: Graph) -> int | float | None:
    if is_omitted(node, 0):
        return None
    trips = scalar(inputs, 0)
    if trips is None:
        return None
    trips = max(trips, 0)
    if is_omitted(node, 1):
        return trips
    cond = scalar(inputs, 1)
    if cond is not None and not cond:
        return 0
    if cond and len(body.inputs) > 1 and body.outputs and _passes_through(body, body.outputs[0], body.inputs[1]):
        return trips
    return None


@rule("Loop")
def _loop(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    body: Graph = node.attrs["body"]
    state = [same(v) for v in inputs[2:]]
    prefix = [_SCALAR_INT, _SCALAR_BOOL]
    state, outputs = _settle(body, prefix, state, 1)
    trips = _trip_count(node, inputs, body)
    scans: list[Info] = []
    for info in outputs[1 + len(state):]:
        shape = None if info[1] is None else (trips, *info[1])
        scans.append((info[0], shape))
    return state + scans


@rule("Scan")
def _scan(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    body: Graph = node.attrs["body"]
    n_scan = node.attrs["num_scan_inputs"]
    n_state = len(inputs) - n_scan
    in_axes = node.attrs.get("scan_input_axes") or [0] * n_scan
    slices: list[Info] = []
    lengths: list[Dim] = []
    for v, axis in zip(inputs[n_state:], in_axes):
        if v.shape is None:
            slices.append((v.dtype, None))
            continue
        axis = norm_axis(axis, len(v.shape))
        lengths.append(v.shape[axis])
        slices.append((v.dtype, v.shape[:axis] + v.shape[axis + 1:]))
    length = next((d for d in lengths if isinstance(d, int)), next((d for d in lengths if d is not None), None))
    state, outputs = _settle(body, [], [same(v) for v in inputs[:n_state]], 0, slices)
    n_out = len(outputs) - n_state
    out_axes = node.attrs.get("scan_output_axes") or [0] * n_out
    scans: list[Info] = []
    for info, axis in zip(outputs[n_state:], out_axes):
        if info[1] is None:
            scans.append((info[0], None))
            continue
        shape = list(info[1])
        shape.insert(norm_axis(axis, len(shape) + 1), length)
        scans.append((info[0], tuple(shape)))
    return state + scans


@rule("SequenceMap")
def _sequence_map(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    body: Graph = node.attrs["body"]
    elements = [(v.dtype, v.shape, "tensor") if v.kind == "sequence" else same(v) for v in inputs]
    outputs = infer_subgraph(body, elements)
    return [(info[0], info[1], "sequence") for info in outputs]
