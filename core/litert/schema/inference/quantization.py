"""Quantisation: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
(The quantised Conv/MatMul forms are with their float counterparts.)"""
from __future__ import annotations

from ...ir import DType, Graph, Node
from ._base import Info, Inputs, arg, attr_dtype, dtype_of, like, rule


@rule("QuantizeLinear")
def _quantize(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    # the zero point's type, else output_dtype, else uint8
    dtype = dtype_of(arg(inputs, 2)) or attr_dtype(node, "output_dtype", DType.UINT8)
    return [like(inputs[0], dtype)]


@rule("DequantizeLinear")
def _dequantize(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    dtype = attr_dtype(node, "output_dtype") or dtype_of(arg(inputs, 1))
    return [(dtype, inputs[0].shape)]


@rule("DynamicQuantizeLinear")
def _dynamic_quantize(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], DType.UINT8), (DType.FLOAT32, ()), (DType.UINT8, ())]
