"""``ai.onnx.preview.training``: the optimisers return updated tensors typed
like the ones they update; Gradient returns one gradient per ``xs`` input."""
from __future__ import annotations

from ...ir import Graph, Node
from ._base import Info, Inputs, Rule, like, rule

TRAINING = "ai.onnx.preview.training"


def _optimizer(groups: int, outputs_from: tuple[int, ...]) -> Rule:
    """Inputs R, T, then ``groups`` equal groups (X, G, V, H...); output group
    ``k`` is typed like input group ``outputs_from[k]``."""

    def infer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
        n = (len(inputs) - 2) // groups
        return [like(inputs[2 + g * n + i]) for g in outputs_from for i in range(n)]

    return infer


rule("Adagrad", domain=TRAINING)(_optimizer(3, (0, 2)))   # X, G, H -> X_new, H_new
rule("Momentum", domain=TRAINING)(_optimizer(3, (0, 2)))  # X, G, V -> X_new, V_new
rule("Adam", domain=TRAINING)(_optimizer(4, (0, 2, 3)))   # X, G, V, H -> X_new, V_new, H_new


@rule("Gradient", domain=TRAINING)
def _gradient(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(v) for v in inputs[: len(node.attrs.get("xs", []))]]
