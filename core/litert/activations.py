"""The activations a fused operator may apply to its output: one table.

onnxruntime's contrib FusedConv (and litert's FusedGemm/FusedMatMul use)
names the activation by its ONNX operator in the ``activation`` attribute and
keeps its parameters in ``activation_params``, in the order of
:attr:`FusedActivation.params`.  Everything that fuses an activation (the
fusion passes), applies one in place (the CPU backend, its native lowering)
or writes one back as a standalone operator (the model writers) reads this
table, so the parameter order, the defaults and the meaning of a missing Clip
bound are decided here only.

A missing Clip bound means "no bound" (``-inf``/``inf``), as litert's Clip
kernel and ONNX's reference evaluator compute it; the frontends turn Clip-6's
``min``/``max`` attributes into inputs before anything reads this table.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .ir import Node
from .record import Record
from .schema.registry import AttrSpec


class Param(Record):
    """One parameter of a fused activation: read from an attribute of the
    standalone operator, or (Clip) from one of its inputs.  (A plain class: :mod:`litert.record` says why.)"""

    __slots__ = FIELDS = ("name", "default", "input")

    def __init__(self, name: str, default: float, input: int | None = None) -> None:
        self.name = name
        self.default = default
        #: the standalone operator's input holding it (Clip's min and max)
        self.input = input


class FusedActivation(Record):
    """An activation a producer can apply to what it writes, and its parameters (``activation_params``)."""

    __slots__ = FIELDS = ("op_type", "params")

    def __init__(self, op_type: str, params: tuple[Param, ...] = ()) -> None:
        self.op_type = op_type
        self.params = params

    def complete(self, given: Sequence[float] | None) -> list[float]:
        """Every parameter, the defaults filling what ``activation_params`` leaves out."""
        values = [float(v) for v in given or ()]
        return values[: len(self.params)] + [p.default for p in self.params[len(values):]]

    def standalone(self, given: Sequence[float] | None) -> tuple[dict[str, float], list[tuple[str, float]]]:
        """The standalone operator's attributes and its parameter inputs (name and value, in input order) for
        ``activation_params`` ``given``: the inverse of :meth:`params_of`, defaults filled in."""
        values = self.complete(given)
        attrs = {p.name: v for p, v in zip(self.params, values) if p.input is None}
        inputs = sorted(((p.input, p.name, v) for p, v in zip(self.params, values) if p.input is not None))
        return attrs, [(name, v) for _, name, v in inputs]

    def params_of(self, node: Node, constant: Callable[[str], np.ndarray | None]) -> list[float] | None:
        """``activation_params`` for standalone activation ``node``; None when a
        parameter is computed at run time (then it cannot be fused)."""
        values = []
        for p in self.params:
            if p.input is None:
                values.append(float(node.attrs.get(p.name, p.default)))
            elif p.input < len(node.inputs) and node.inputs[p.input]:
                array = constant(node.inputs[p.input])
                if array is None or array.size != 1:
                    return None
                values.append(float(array.reshape(())))
            else:
                values.append(p.default)
        return values


#: op_type -> the activation, for every activation litert fuses (onnxruntime's FusedConv set)
ACTIVATIONS: dict[str, FusedActivation] = {a.op_type: a for a in (
    FusedActivation("Relu"),
    FusedActivation("Sigmoid"),
    FusedActivation("Tanh"),
    FusedActivation("LeakyRelu", (Param("alpha", 0.01),)),
    FusedActivation("HardSigmoid", (Param("alpha", 0.2), Param("beta", 0.5))),
    FusedActivation("Clip", (Param("min", -math.inf, input=1), Param("max", math.inf, input=2))),
)}


#: the attribute that names a fused operator's activation (FusedConv, FusedGemm)
ACTIVATION_ATTR = {"activation": AttrSpec("string", required=True)}
#: FusedConv's activation attributes: the name, then the parameters in table order; no name is no activation
#: (a conv fused with its residual Add alone, as onnxruntime's FusedConv allows)
FUSED_CONV_ATTRS = {"activation": AttrSpec("string"), "activation_params": AttrSpec("floats")}


def fusable(node: Node) -> FusedActivation | None:
    """The table entry of ``node`` when it is an activation litert can fuse."""
    return ACTIVATIONS.get(node.op_type) if node.domain == "" else None
