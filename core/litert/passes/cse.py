"""Common-subexpression elimination: identical nodes on identical inputs merge."""
from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from ..ir import Graph, Model, Node
from .base import Pass, PassContext, PassResult, Renames, read_by_subgraph

_NONDETERMINISTIC = {"RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike", "Bernoulli", "Multinomial"}


def _freeze(value: object) -> Hashable:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, Graph):
        return ("graph", id(value))
    return value


class CommonSubexpressionElimination(Pass):
    name = "common_subexpression_elimination"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        seen: dict[tuple[Hashable, ...], list[str]] = {}
        consumers: dict[str, list[Node]] | None = None  # built when the first duplicate is found
        kept = []
        renames = Renames()  # readers of a duplicate's outputs read the first one's
        for node in graph.nodes:
            renames.resolve(node)
            if node.op_type in _NONDETERMINISTIC or (node.attrs and any(True for _ in node.subgraphs())):
                kept.append(node)
                continue
            key = (node.domain, node.op_type, tuple(node.inputs), len(node.outputs),
                   tuple(sorted((k, _freeze(v)) for k, v in node.attrs.items())) if node.attrs else ())
            if key in seen and consumers is None:
                consumers = graph.consumers()
            if key in seen and consumers is not None and not any(
                    o in graph.outputs or read_by_subgraph(consumers, o) for o in node.outputs):
                for old, new in zip(node.outputs, seen[key]):
                    if old:
                        renames.add(old, new)
                result.record(node.op_type)
                continue
            seen[key] = node.outputs
            kept.append(node)
        graph.nodes = kept
        renames.apply(graph)
        return result
