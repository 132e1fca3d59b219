"""Random generators: the type comes from attributes (or the input), never from data."""
from __future__ import annotations

from ...ir import DType, Graph, Node
from ._base import Info, Inputs, attr_dtype, rule


@rule("RandomNormal", "RandomUniform")
def _random(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(attr_dtype(node, "dtype", DType.FLOAT32), tuple(node.attrs["shape"]))]


@rule("Multinomial")
def _multinomial(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    batch = x.shape[0] if x.shape is not None and len(x.shape) == 2 else None
    return [(attr_dtype(node, "dtype", DType.INT32), (batch, node.attrs.get("sample_size", 1)))]
