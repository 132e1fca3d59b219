"""Walk a graph in node order, applying the rules of :mod:`._base.RULES`.

Besides types, the walk propagates the *content* of small integer tensors
that shape computations build (``Shape`` -> ``Gather`` -> ``Concat`` ->
``Reshape``), as ONNX's data propagation does, so a ``Reshape`` whose target
is computed from a static (or symbolic) shape still gets an output shape.
That content lives only in the walk (a side table), never in ``Value.const``
of the graph.

Subgraphs (If/Loop/Scan/SequenceMap bodies) are inferred by the rules of
their operators through :func:`infer_subgraph`, in the scope of the node
being inferred: names a body reads from enclosing graphs resolve there.
"""
from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping, Sequence
from contextvars import ContextVar

import numpy as np

from ...ir import Graph, Node, Value
from ._base import RULES, Info, Known, kind_of
from .data_prop import DATA_RULES, Data

#: exceptions a rule may raise on a form it does not handle: the outputs stay unknown
_RULE_ERRORS = (TypeError, ValueError, IndexError, KeyError, AttributeError, ZeroDivisionError, OverflowError)


class _Scope:
    """The values a walk resolves names in, the contents it derived, and whether rule errors propagate."""

    __slots__ = ("values", "data", "strict")

    def __init__(self, values: Mapping[str, Value], data: MutableMapping[str, Data], strict: bool) -> None:
        self.values = values
        self.data = data
        self.strict = strict


_CURRENT: ContextVar[_Scope | None] = ContextVar("litert_inference_scope", default=None)


def infer_shapes(graph: Graph, strict: bool = False) -> None:
    """Fill dtype/shape (and sequence/optional kind) of every value the rules
    can determine, in node order; known types are never overwritten.

    ``strict`` re-raises a rule's error instead of leaving the outputs unknown
    (for tests of the rules themselves).
    """
    _infer(graph, _Scope(graph.values, {}, strict))


def _infer(graph: Graph, scope: _Scope) -> None:
    """Infer ``graph``'s nodes in ``scope``, which the rules see (:func:`infer_subgraph`) while they run: set
    once per graph, not once per node."""
    token = _CURRENT.set(scope)
    try:
        _walk(graph, scope)
    finally:
        _CURRENT.reset(token)


def _walk(graph: Graph, scope: _Scope) -> None:
    graph_outputs = set(graph.outputs)
    value = graph.value
    for node in graph.nodes:
        outputs = [value(n) if n else None for n in node.outputs]
        declares_output = not graph_outputs.isdisjoint(node.outputs)
        apply = declares_output
        if not apply:
            for v in outputs:
                if v is not None and (v.dtype is None or v.shape is None):
                    apply = True
                    break
        data_fn = DATA_RULES.get((node.domain, node.op_type))
        if not apply and data_fn is None:
            continue  # typed already (the reader's inference), no content to carry: the inputs are not needed
        inputs = [_input(name, scope) if name else None for name in node.inputs]
        if apply:
            infos = _apply(node, inputs, graph, scope)
            for out, info in zip(outputs, infos or []):
                if out is not None and info is not None:
                    if declares_output and out.name in graph_outputs:
                        _overrule_declared(out, info)
                    _fill(out, info)
        if data_fn is not None:
            try:
                produced = data_fn(node, inputs, outputs)
            except _RULE_ERRORS:
                if scope.strict:
                    raise
                produced = []
            for name, data in zip(node.outputs, produced):
                if name and data is not None:
                    scope.data[name] = data


def _apply(node: Node, inputs: list[Value | None], graph: Graph, scope: _Scope) -> list[Info] | None:
    fn = RULES.get((node.domain, node.op_type))
    if fn is None:
        return None
    try:
        return fn(node, inputs, graph)  # in the scope :func:`_infer` set
    except _RULE_ERRORS:
        if scope.strict:
            raise
        return None  # an unexpected form: leave the outputs unknown


def _input(name: str, scope: _Scope) -> Value:
    value = scope.values.get(name) or Value(name)
    data = scope.data.get(name)
    if data is None or value.is_const:
        return value
    if isinstance(data, np.ndarray):
        return value.replace(const=data)
    return Known(value.name, value.dtype, value.shape, value.const, value.quant, value.layout, value.kind, data=data)


def _overrule_declared(value: Value, info: Info) -> None:
    """A graph output's declared shape that contradicts its op (another rank, or
    another static size) gives way to the op's, as onnxruntime's lenient merge
    does: the declaration is a claim about the model, the op is what runs."""
    shape = info[1]
    if value.shape is None or shape is None:
        return
    if len(value.shape) != len(shape) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(value.shape, shape)):
        value.shape = tuple(shape)


def _fill(value: Value, info: Info) -> None:
    dtype, shape = info[0], info[1]
    if value.dtype is None and dtype is not None:
        value.dtype = dtype
    if value.shape is None and shape is not None:
        value.shape = tuple(shape)
    kind = info[2] if len(info) > 2 else None  # kind_of(info), inline: this runs per inferred value
    if kind is not None and value.kind == "tensor":
        value.kind = kind


# ---------------------------------------------------------------- subgraphs


def infer_subgraph(body: Graph, input_infos: Sequence[Info | None] = ()) -> list[Info]:
    """Infer ``body`` (a subgraph of the node whose rule is running) and return
    the types of its outputs.

    ``input_infos`` type the body's inputs (where an info leaves something
    unknown, the body's declared input type stands).  The body itself is
    never written: inference runs on a copy whose computed values start
    unknown, so the result follows the current outer types even when the
    body carries types from an earlier load or resize, and a graph copy that
    shares its bodies with the model (``memory.specialize``) leaves them alone.
    """
    outer = _CURRENT.get()
    if outer is None:
        raise RuntimeError("infer_subgraph is called from within a rule")
    body = _scratch(body)
    for name, info in zip(body.inputs, input_infos):
        if info is not None:
            _override(body.values.setdefault(name, Value(name)), info)
    scope = _Scope(ChainMap(body.values, dict(outer.values)), ChainMap({}, outer.data), outer.strict)
    _infer(body, scope)
    result = []
    for name in body.outputs:
        value = scope.values.get(name)
        result.append((value.dtype, value.shape, value.kind) if value is not None else (None, None))
    return result


def _override(value: Value, info: Info) -> None:
    if info[0] is not None:
        value.dtype = info[0]
    if info[1] is not None:
        value.shape = tuple(info[1])
    kind = kind_of(info)
    if kind is not None:
        value.kind = kind


def _scratch(graph: Graph) -> Graph:
    """The graph with its own values replaced by fresh ones: constants are
    shared, inputs keep their declared types, computed values are unknown.
    Nodes (and nested bodies) are shared: inference never writes them."""
    inputs = set(graph.inputs)
    values = {}
    for name, v in graph.values.items():
        if v.is_const:
            values[name] = v
        elif name in inputs:
            values[name] = v.replace()
    return Graph(nodes=graph.nodes, inputs=list(graph.inputs), outputs=list(graph.outputs), values=values,
                 name=graph.name)
