"""Graph passes and the pipeline that runs them in order."""
from __future__ import annotations

from collections.abc import Sequence

from ..ir import Model
from .affine import ChannelAffineFolding
from .base import Pass, PassContext, PassResult
from .constant_folding import ConstantFolding
from .cse import CommonSubexpressionElimination
from .dce import DeadCodeElimination
from .fusion import ActivationFusion, BatchNormFolding, ResidualFusion
from .gradient import GradientLowering
from .qdq import QdqFolding
from .simplify import ShapeSimplification

#: passes that make a graph runnable at all; they run at every optimisation level
LOWERING: tuple[type[Pass], ...] = (GradientLowering, QdqFolding)

#: the built-in pipeline of ``--optimize general``, in order
GENERAL: tuple[type[Pass], ...] = (
    ShapeSimplification,
    ConstantFolding,
    ShapeSimplification,
    CommonSubexpressionElimination,
    # Mul/Add first: after a BatchNormalization they fold into its per-channel parameters, so the weights are
    # rewritten once, when it folds into the Conv (Inception-v2's Conv -> BN -> Mul -> Add: two passes over its
    # weights before, ~20 ms of a 0.2 s load); a Conv -> Mul -> BN's Mul folds into the Conv first
    ChannelAffineFolding,
    BatchNormFolding,
    ChannelAffineFolding,  # again: a Mul/Add after a BatchNormalization that only now has folded into the Conv
    ResidualFusion,
    ActivationFusion,
    DeadCodeElimination,
)


def run_pipeline(model: Model, level: str, ctx: PassContext, extra: Sequence[Pass] = ()) -> list[PassResult]:
    """Lowering always; the general pipeline and plugin passes unless ``level`` is ``"none"``."""
    if level not in ("none", "general"):
        raise ValueError(f"unknown optimisation level {level!r} (none, general)")
    for p in extra:
        if p.level not in ("lowering", "general"):
            raise ValueError(f"pass {p.name!r}: unknown level {p.level!r} (lowering, general)")
    results = lower(model, ctx, [p for p in extra if p.level == "lowering"])
    if level == "general":
        results += optimize(model, ctx, [p for p in extra if p.level == "general"])
    return results


def lower(model: Model, ctx: PassContext, extra: Sequence[Pass] = ()) -> list[PassResult]:
    """Run the lowering passes (needed whatever the optimisation level), then plugin lowering passes."""
    return [p.run(model, ctx) for p in [cls() for cls in LOWERING] + list(extra)]


def optimize(model: Model, ctx: PassContext, extra: Sequence[Pass] = ()) -> list[PassResult]:
    """Run the general pipeline, then plugin passes; return what each did."""
    results = []
    for p in [cls() for cls in GENERAL] + list(extra):
        results.append(p.run(model, ctx))
    return results


__all__ = ["Pass", "PassContext", "PassResult", "lower", "optimize", "run_pipeline", "GENERAL", "LOWERING"]
