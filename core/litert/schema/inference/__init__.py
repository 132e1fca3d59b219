"""Static type and shape inference over the IR, one rule per operator.

Frontends may already know shapes (ONNX shape inference); this fills what is
missing and recomputes everything after :meth:`Session.resize`.  An operator
without a rule leaves its outputs unknown, which only costs the memory planner
its foresight for those tensors.

Rules follow ONNX's inference semantics and live one operator family per
module; :data:`RULES` maps ``(domain, op_type)`` to the rule (see
:mod:`._base` for the rule contract) and :func:`infer_shapes` applies them.
A rule's module is imported the first time :data:`RULES` is asked for one of
its rules (the generated ``_index.py`` says which module that is), so this
package's import does not import every family.
"""
from __future__ import annotations

from ._base import RULES, Info, Known, Rule, rule
from ._engine import infer_shapes, infer_subgraph

__all__ = ["RULES", "Info", "Known", "Rule", "infer_shapes", "infer_subgraph", "rule"]
