"""Dead-code elimination: drop nodes and constants nothing reads."""
from __future__ import annotations

from ..ir import Model
from .base import Pass, PassContext, PassResult


class DeadCodeElimination(Pass):
    name = "dead_code_elimination"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        live = set(graph.outputs)
        live.discard("")  # an omitted output names nothing (nor does anything in ``live`` after this)
        kept = []
        for node in reversed(graph.nodes):
            if not live.isdisjoint(node.outputs):
                kept.append(node)
                live.update(node.reads())
            else:
                result.record(node.op_type)
        kept.reverse()
        graph.nodes = kept
        live.update(graph.inputs)
        for name in [n for n, v in graph.values.items() if n not in live]:
            del graph.values[name]
        return result
