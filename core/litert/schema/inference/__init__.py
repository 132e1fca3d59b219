"""Static type and shape inference over the IR, one rule per operator.

Frontends may already know shapes (ONNX shape inference); this fills what is
missing and recomputes everything after :meth:`Session.resize`.  An operator
without a rule leaves its outputs unknown, which only costs the memory planner
its foresight for those tensors.

Rules follow ONNX's inference semantics and live one operator family per
module; :data:`RULES` maps ``(domain, op_type)`` to the rule (see
:mod:`._base` for the rule contract) and :func:`infer_shapes` applies them.
"""
from __future__ import annotations

from . import (  # noqa: F401  (each module registers its rules)
    attention,
    contrib_quant,
    control_flow,
    elementwise,
    image,
    indexing,
    linalg,
    ml,
    nn,
    quantization,
    random,
    recurrent,
    reduce,
    sequence,
    shape_ops,
    signal,
    strings,
    training,
)
from ._base import RULES, Info, Known, Rule, rule
from ._engine import infer_shapes, infer_subgraph

__all__ = ["RULES", "Info", "Known", "Rule", "infer_shapes", "infer_subgraph", "rule"]
