"""The residual Add of a QDQ model as one int8 step.

A QDQ model (onnxruntime's ``quantize_static``, litert's FULL_QUANT) writes
a residual connection as ``DequantizeLinear(a)``, ``DequantizeLinear(b)``,
``Add`` (maybe with an activation folded in), ``QuantizeLinear``: four steps
that write two float32 tensors four times the size of the int8 ones, read
them back, and write a third.  ``LK_STEP_QADD`` does the same float32
operations in the same order in one pass over the int8 operands, so its
bytes are those of the four steps (onnxruntime's QLinearAdd, which
requantises with a folded scale, would round some values differently).

The fusion runs over one segment's steps after lowering; the float values
between the steps must be read by nothing else, inside or after the segment.
"""
from __future__ import annotations

from .lowering import Lowered, LowerContext, Step


def fuse_quantised_adds(lowered: list[Lowered], live_after: set[str], ctx: LowerContext) -> set[str]:
    """Rewrites every DQ + DQ -> Add -> Q of the segment as a QADD step; returns the values no longer
    computed (hooks see None for them)."""
    native = ctx.native
    writer: dict[str, tuple[Lowered, Step]] = {}
    view_of: dict[str, Lowered] = {}  # a Relu folded into the Add leaves a view of the Add's output
    readers: dict[str, int] = {}
    for low in lowered:
        for st in low.steps:
            for name in st.operands:
                if name and name not in st.writes:
                    readers[name] = readers.get(name, 0) + 1
            for name in st.writes:
                writer[name] = (low, st)
        if low.alias:
            view_of[low.alias[0]] = low
            readers[low.alias[1]] = readers.get(low.alias[1], 0) + 1

    def private(name: str) -> bool:
        """read by one step of the segment and by nothing after it"""
        return readers.get(name) == 1 and name not in live_after

    def made_by(name: str, kind: int) -> tuple[Lowered, Step, list[Lowered]] | None:
        """the step of ``kind`` that makes ``name`` (through views), and the views, when all are private"""
        views = []
        while name in view_of and private(name):
            views.append(view_of[name])
            name = view_of[name].alias[1]  # type: ignore[index]
        found = writer.get(name)
        if found is None or found[1].kind != kind or not private(name):
            return None
        return found[0], found[1], views

    gone: set[str] = set()
    for low in lowered:
        for index, quantize in enumerate(low.steps):
            add = made_by(quantize.operands[0], native.STEP_BINARY) if quantize.kind == native.STEP_QUANTIZE else None
            if add is None:
                continue
            add_low, add_step, views = add
            op, act, rank, *dims = add_step.ints
            # elementwise over same-shape operands: one merged dimension, both strides 1
            if op != native.BIN_ADD or rank != 1 or dims[1:] != [1, 1] or add_step.operands[0] == add_step.operands[1]:
                continue
            deqs = [made_by(name, native.STEP_DEQUANTIZE) for name in add_step.operands[:2]]
            if deqs[0] is None or deqs[1] is None or deqs[0][2] or deqs[1][2]:
                continue
            (a_low, a_step, _), (b_low, b_step, _) = deqs
            count, y_zero, y_lo, y_hi, _ = quantize.ints
            if not a_step.ints[0] == b_step.ints[0] == count == dims[0]:
                continue
            ints = (count, a_step.ints[1], b_step.ints[1], a_step.ints[4], b_step.ints[4], y_zero, y_lo, y_hi, act)
            floats = (a_step.floats[0], b_step.floats[0], quantize.floats[0], *add_step.floats[:2])
            low.steps[index] = Step(native.STEP_QADD, (a_step.operands[0], b_step.operands[0], quantize.output),
                                    ints, floats, quantize.output)
            for owner, step in ((add_low, add_step), (a_low, a_step), (b_low, b_step)):
                owner.steps.remove(step)
                gone.add(step.output)
            for view in views:
                gone.add(view.alias[0])  # type: ignore[index]
                view.alias = None
    return gone
