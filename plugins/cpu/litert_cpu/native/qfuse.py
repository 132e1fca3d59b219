"""The residual Add and the MaxPool of a QDQ model as int8 steps.

A QDQ model (onnxruntime's ``quantize_static``, litert's FULL_QUANT) writes
a residual connection as ``DequantizeLinear(a)``, ``DequantizeLinear(b)``,
``Add`` (maybe with an activation folded in), ``QuantizeLinear``: four steps
that write two float32 tensors four times the size of the int8 ones, read
them back, and write a third.  ``LK_STEP_QADD`` does the same float32
operations in the same order in one pass over the int8 operands, so its
bytes are those of the four steps (onnxruntime's QLinearAdd, which
requantises with a folded scale, would round some values differently).

``DequantizeLinear -> MaxPool -> QuantizeLinear`` becomes ``LK_STEP_QMAXPOOL``:
the max of the uint8 window (Dequantize is increasing, so the max commutes with
it), mapped through Q(DQ(v)) by a 256-entry table computed here with the
(de)quantisation steps' own float32 operations when the two sides' parameters
differ: again the bytes of the unfused steps.

The fusions run over one segment's steps after lowering; the float values
between the steps must be read by nothing else, inside or after the segment.
"""
from __future__ import annotations

import numpy as np

from .lowering import Lowered, LowerContext, Step


def fuse_quantised_adds(lowered: list[Lowered], live_after: set[str], ctx: LowerContext) -> set[str]:
    """Rewrites every DQ + DQ -> Add -> Q of the segment as a QADD step; returns the values no longer
    computed (hooks see None for them)."""
    native = ctx.native
    if not any(st.kind == native.STEP_QUANTIZE for low in lowered for st in low.steps):
        return set()  # nothing to fuse into: a float model's segment skips the tables below
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
            pool = made_by(quantize.operands[0], native.STEP_POOL2D) if quantize.kind == native.STEP_QUANTIZE else None
            if pool is not None and not pool[2]:
                fused = _quantised_max_pool(quantize, pool[1], made_by(pool[1].operands[0], native.STEP_DEQUANTIZE),
                                            native)
                if fused is not None:
                    step, table, deq = fused
                    low.steps[index] = step
                    if table is not None:
                        low.consts[step.operands[1]] = table  # type: ignore[index]
                    for owner, removed in ((pool[0], pool[1]), (deq[0], deq[1])):
                        owner.steps.remove(removed)
                        gone.add(removed.output)
                    continue
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


def _quantised_max_pool(quantize: Step, pool: Step, deq: tuple[Lowered, Step, list[Lowered]] | None, native):
    """(the QMAXPOOL step, its table or None, the Dequantize's (owner, step)) for uint8 -> MaxPool -> uint8,
    else None."""
    if deq is None or deq[2] or pool.ints[16] != native.POOL_MAX:
        return None
    _, dq, _ = deq
    count, x_zero, _, _, x_signed = dq.ints
    _, y_zero, lo, hi, _ = quantize.ints
    if x_signed or lo < 0 or hi > 255:
        return None  # uint8 on both sides: the window's max is the max of its bytes
    x_scale, y_scale = np.float32(dq.floats[0]), np.float32(quantize.floats[0])
    table = None
    if not (x_scale == y_scale and x_zero == y_zero and (lo, hi) == (0, 255)):
        # Q(DQ(v)) as lk_dequantize_f32 and lk_quantize_f32 compute it, in float32
        v = (np.arange(256, dtype=np.int32) - x_zero).astype(np.float32) * x_scale
        q = np.clip(v / y_scale, np.float32(-65536), np.float32(65536))
        table = np.clip(np.rint(q).astype(np.int32) + y_zero, lo, hi).astype(np.uint8)
    name = f"{quantize.output}/qmaxpool_table" if table is not None else None
    step = Step(native.STEP_QMAXPOOL, (dq.operands[0], name, quantize.output), (*pool.ints, 0), (), quantize.output)
    return step, table, (deq[0], dq)
