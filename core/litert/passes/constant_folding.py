"""Constant folding: evaluate nodes whose inputs are all known at load time.

Shape and Size of statically shaped values fold too, which is what turns the
shape arithmetic of exported models (Shape -> Gather -> Concat -> Reshape)
into plain constants.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import DType, Graph, Model, Node
from ..limits import numel
from ..schema.inference import RULES
from ..schema.inference._engine import _RULE_ERRORS
from .base import Pass, PassContext, PassResult
from .cse import _NONDETERMINISTIC


def _static_shape_value(node: Node, graph: Graph) -> np.ndarray | None:
    source = graph.values.get(node.inputs[0])
    if source is None or not source.is_static:
        return None
    shape = np.array(source.shape, dtype=np.int64)
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    rank = len(shape)
    start = node.attrs.get("start", 0)
    end = node.attrs.get("end", rank)
    return shape[slice(start, end)]


def _inferred(node: Node, graph: Graph) -> list[Any] | None:
    """What shape inference says of the outputs of ``node`` ((dtype, shape) or None each), None when it cannot."""
    fn = RULES.get((node.domain, node.op_type))
    if fn is None:
        return None
    try:
        return fn(node, [graph.values.get(n) if n else None for n in node.inputs], graph)
    except _RULE_ERRORS:
        return None


def output_bytes(node: Node, graph: Graph, infos: list[Any] | None = None) -> int | None:
    """The bytes of the outputs of ``node`` as shape inference tells them before running it (None: unknown);
    ``infos``: what :func:`_inferred` gave, when the caller has it."""
    infos = infos if infos is not None else _inferred(node, graph)
    if infos is None:
        return None
    total = 0
    for name, info in zip(node.outputs, infos or []):
        if not name:
            continue
        if info is None or info[0] is None or info[1] is None or not all(isinstance(d, int) for d in info[1]):
            return None
        total += numel(info[1]) * max(info[0].itemsize, 1)
    return total if len(infos or []) >= len([n for n in node.outputs if n]) else None


def left_unfolded_by_limit(node: Node, graph: Graph, limit: int) -> int | None:
    """The output bytes of ``node`` when it has only constant inputs and folding left it for being over
    ``limit``; None otherwise.  Lets a writer that cannot express the node say which limit to raise."""
    names = [n for n in node.inputs if n]
    if not names or not all(graph.values.get(n) is not None and graph.values[n].is_const for n in names):
        return None
    total = output_bytes(node, graph)
    return total if total is not None and total > limit else None


#: operators whose one output is their first input's elements in the same order, in the shape inference gives
_RESHAPES = frozenset(("Reshape", "Unsqueeze", "Squeeze", "Flatten"))


def _reshaped(node: Node, graph: Graph, infos: list[Any] | None) -> np.ndarray | None:
    """The output of a reshaping ``node`` over a constant, made without running it: a read-only view of the
    input in the shape inference gives (the evaluator builds a CPU executor per node: 54 us each, the 242
    Unsqueeze of a DenseNet-121 13 ms).  None when it is not one, or the shapes disagree (the evaluator decides)."""
    if infos is None or node.op_type not in _RESHAPES or node.domain != "" or len(node.outputs) != 1:
        return None
    source = graph.values[node.inputs[0]].const
    dtype, shape = infos[0][0], tuple(infos[0][1])
    if not isinstance(source, np.ndarray) or source.dtype != dtype.numpy or source.size != numel(shape):
        return None
    view = source.reshape(shape)
    view.flags.writeable = False
    return view


class ConstantFolding(Pass):
    name = "constant_folding"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        kept = []
        for node in graph.nodes:
            folded = self._fold(node, graph, ctx)
            if folded is None:
                kept.append(node)
                continue
            for name, array in zip(node.outputs, folded):
                if name:
                    value = graph.value(name)
                    const: Any = np.asarray(array) if not isinstance(array, list) else array
                    value.const = const
                    value.dtype = DType.from_numpy(const.dtype)
                    value.shape = tuple(const.shape)
            result.record(node.op_type)
        graph.nodes = kept
        return result

    def _fold(self, node: Node, graph: Graph, ctx: PassContext) -> list[Any] | None:
        if node.op_type in ("Shape", "Size") and node.domain == "":
            array = _static_shape_value(node, graph)
            return None if array is None else [array]
        if ctx.evaluator is None or node.op_type in _NONDETERMINISTIC:
            return None
        values = graph.values
        names = [n for n in node.inputs if n]
        if not names:
            return None
        for name in names:  # first: most nodes read a computed value, and this is the cheapest test
            value = values.get(name)
            if value is None or not value.is_const:
                return None
        if node.attrs and any(True for _ in node.subgraphs()):
            return None
        if any(graph.values.get(o) is not None and graph.values[o].kind != "tensor" for o in node.outputs if o):
            return None
        # the outputs' size is checked *before* evaluating: a few hundred bytes of Tile, Expand or ConstantOfShape
        # can ask for gigabytes; a node whose output size inference cannot tell is not folded (it runs, under the
        # run-time checks)
        infos = _inferred(node, graph)
        total = output_bytes(node, graph, infos)
        if total is None or total > ctx.fold_limit:
            return None
        reshaped = _reshaped(node, graph, infos)
        if reshaped is not None:
            return [reshaped]
        try:
            outputs = ctx.evaluator(node, [graph.values[n].const if n else None for n in node.inputs], graph)
        except Exception:  # a node that cannot fold stays a node; running it reports the error
            return None
        if any(not isinstance(o, np.ndarray) for o in outputs):
            return None
        if sum(o.nbytes for o in outputs) > ctx.fold_limit:
            return None
        return outputs
