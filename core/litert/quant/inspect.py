"""Which weights of a graph are quantised, and how (``litert info``).

Two ways a file says a weight is quantised:

* an integer constant that a dequantising or integer operator reads (ONNX
  QDQ's DequantizeLinear, QLinearConv, MatMulInteger ...): the operand
  positions are :data:`INTEGER_WEIGHT_OPERANDS`; per-channel when its scale
  has more than one element;
* a constant carrying :class:`~litert.ir.QuantParams` (a ``.ms`` file's
  weight quantisation): the reader may have dequantised it already, so the
  stored integer type and bit width are the format's to tell (``litert
  info`` prints the ``.ms`` reader's ``ms weight quant`` line beside this).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from ..ir import Graph

#: (domain, op) -> (position of the integer weight, position of its scale or None)
INTEGER_WEIGHT_OPERANDS = {
    ("", "DequantizeLinear"): (0, 1),
    ("com.microsoft", "DequantizeLinear"): (0, 1),
    ("", "QLinearConv"): (3, 4),
    ("", "QLinearMatMul"): (3, 4),
    ("", "ConvInteger"): (1, None),
    ("", "MatMulInteger"): (1, None),
}

#: bit width of the integer types that quantised weights are stored in
_BITS = {"int4": 4, "uint4": 4, "int8": 8, "uint8": 8, "int16": 16, "uint16": 16, "int32": 32}


@dataclass(frozen=True)
class QuantisedWeight:
    name: str
    #: the type the weight is held in ("float32" when a reader dequantised it at load)
    dtype: str
    #: bits of the integer type (None when the reader dequantised it: the file's own figure is in its metadata)
    bits: int | None
    per_channel: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def quantised_weights(graph: Graph) -> list[QuantisedWeight]:
    """Every quantised constant of ``graph``, in the order nodes read them."""
    found: dict[str, QuantisedWeight] = {}
    for node in graph.nodes:
        operands = INTEGER_WEIGHT_OPERANDS.get((node.domain, node.op_type))
        for position, name in enumerate(node.inputs):
            value = graph.values.get(name) if name else None
            if value is None or value.const is None or name in found:
                continue
            if operands is not None and position == operands[0] and np.asarray(value.const).dtype.kind in "iu":
                dtype = str(np.asarray(value.const).dtype)
                scale = _const(graph, node.inputs[operands[1]]) if operands[1] is not None and \
                    operands[1] < len(node.inputs) else None
                found[name] = QuantisedWeight(name, dtype, _BITS.get(dtype), scale is not None and scale.size > 1)
            elif value.quant is not None:
                dtype = str(np.asarray(value.const).dtype)
                found[name] = QuantisedWeight(name, dtype, _BITS.get(dtype), value.quant.per_channel)
    return list(found.values())


def summary(weights: list[QuantisedWeight]) -> str:
    """One line: ``4 weights: int8 8-bit per-channel 3, int8 8-bit per-tensor 1``, or ``none (float weights)``."""
    if not weights:
        return "none (float weights)"
    kinds = Counter((f"{w.dtype} {w.bits}-bit " if w.bits else "", "per-channel" if w.per_channel else "per-tensor",
                     "" if w.bits else f" (dequantised to {w.dtype} at load)") for w in weights)
    parts = [f"{stored}{scheme} {count}{held}" for (stored, scheme, held), count in kinds.most_common()]
    return f"{len(weights)} weight{'s' if len(weights) != 1 else ''}: " + ", ".join(parts)


def _const(graph: Graph, name: str) -> np.ndarray | None:
    value = graph.values.get(name) if name else None
    return None if value is None or value.const is None else np.asarray(value.const)
