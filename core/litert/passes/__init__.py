"""Graph passes and the pipeline that runs them in order."""
from __future__ import annotations

from ..ir import Model
from .base import Pass, PassContext, PassResult
from .constant_folding import ConstantFolding
from .cse import CommonSubexpressionElimination
from .dce import DeadCodeElimination
from .fusion import ActivationFusion, BatchNormFolding
from .simplify import ShapeSimplification

#: the built-in pipeline of ``--optimize general``, in order
GENERAL: tuple[type[Pass], ...] = (
    ShapeSimplification,
    ConstantFolding,
    ShapeSimplification,
    CommonSubexpressionElimination,
    BatchNormFolding,
    ActivationFusion,
    DeadCodeElimination,
)


def optimize(model: Model, ctx: PassContext, extra: list[Pass] | tuple = ()) -> list[PassResult]:
    """Run the general pipeline, then plugin passes; return what each did."""
    results = []
    for p in [cls() for cls in GENERAL] + list(extra):
        results.append(p.run(model, ctx))
    return results


__all__ = ["Pass", "PassContext", "PassResult", "optimize", "GENERAL"]
