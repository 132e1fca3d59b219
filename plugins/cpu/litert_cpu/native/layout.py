"""Channels-last int8 activations between quantised convolutions.

onnxruntime (its NHWC transformer for QLinearConv), MindSpore Lite's int8
kernels and XNNPACK keep int8 activations channels-last: a 1x1 convolution
is then a plain GEMM over pixel rows, a depthwise one vectorises over
channels at any image size and stride, and nothing is transposed between
layers.  litert's graph stays NCHW; this pass decides, per native segment,
which int8 tensors its arena holds NHWC instead, and tells each step.

Tensors joined by layout-blind steps (Quantize/Dequantize, same-shape
elementwise incl. the fused QDQ Add, the depthwise convolution, which maps NHWC to NHWC) must share
one layout: they form a group.  A group goes channels-last when every step
that writes or reads it can take that (the int8 convolution converts at its
input and its output, so it joins no group), an int8 convolution gains from
it, and none of its tensors is seen outside the segment (inputs, outputs,
views of Reshape & co.): what leaves a segment is NCHW, as the graph says.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .lowering import Lowered, LowerContext, Step


class _Groups:
    """Union-find over tensor names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = self.parent.setdefault(name, name)
        while root != self.parent[root]:
            root = self.parent[root]
        while name != root:  # path compression
            self.parent[name], name = root, self.parent[name]
        return root

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _elementwise_tensors(step: Step, ctx: LowerContext, const: Callable[[str], np.ndarray | None]) -> list[str] | None:
    """The tensors of a binary step that computes elementwise over same-shape tensors (a constant scalar
    operand aside), which therefore does not care about their layout; else None."""
    y = step.output
    tensors = [y]
    for name in step.operands[:2]:
        if not name:
            return None
        value = const(name)
        if value is not None:
            if value.size != 1:
                return None
        elif ctx.shape(name) != ctx.shape(y):
            return None
        else:
            tensors.append(name)
    return tensors


def assign_layouts(lowered: list[Lowered], live_after: set[str], ctx: LowerContext,
                   const: Callable[[str], np.ndarray | None]) -> frozenset[str]:
    """Rewrites the int8 convolution steps of one segment for channels-last tensors where that pays;
    returns the names of the tensors held NHWC."""
    native = ctx.native
    steps = [st for low in lowered for st in low.steps]
    qconv, qdw = native.STEP_QCONV2D, native.STEP_QDWCONV2D
    if not any(st.kind in (qconv, qdw) for st in steps):
        return frozenset()
    groups = _Groups()
    pinned: set[str] = set()  # tensors that must stay NCHW
    gains: set[str] = set()   # tensors an int8 convolution reads or writes
    blind = (native.STEP_QUANTIZE, native.STEP_DEQUANTIZE, native.STEP_UNARY)
    for st in steps:
        if st.kind == qconv and st.ints[-1] == 0:  # an NCHW convolution: either side may change
            gains.update((st.operands[0], st.output))
            continue
        if st.kind == qdw:
            gains.update((st.operands[0], st.output))
            groups.join(st.operands[0], st.output)
            continue
        if st.kind == native.STEP_QMAXPOOL:  # either layout, the same on both sides
            groups.join(st.operands[0], st.output)
            continue
        tensors = ([st.operands[0], st.output] if st.kind in blind else
                   [st.output, *st.operands[:2]] if st.kind == native.STEP_QADD else  # type: ignore[list-item]
                   _elementwise_tensors(st, ctx, const) if st.kind == native.STEP_BINARY else None)
        if tensors is None:
            pinned.update(n for n in (*st.operands, *st.writes) if n and const(n) is None)
            continue
        for name in tensors[1:]:
            groups.join(tensors[0], name)
    produced = {n for st in steps for n in st.writes}
    pinned |= {n for st in steps for n in st.operands if n and n not in produced and const(n) is None}
    pinned |= live_after
    for low in lowered:
        if low.alias:
            pinned.update(low.alias)
    members: dict[str, list[str]] = {}
    for name in list(groups.parent) + list(gains):
        members.setdefault(groups.find(name), []).append(name)
    nhwc: set[str] = set()
    for names in members.values():
        if any(n in pinned or len(ctx.shape(n) or ()) != 4 for n in names) or not any(n in gains for n in names):
            continue
        nhwc.update(names)
    if not nhwc:
        return frozenset()
    for low in lowered:
        low.steps = [_rewrite(st, nhwc, native, const, low) for st in low.steps]
    return frozenset(nhwc)


def _rewrite(st: Step, nhwc: set[str], native, const: Callable[[str], np.ndarray | None], low: Lowered) -> Step:
    x, y = st.operands[0], st.output
    if st.kind == native.STEP_QCONV2D and st.ints[-1] == 0:
        layout = (native.Q_X_NHWC if x in nhwc else 0) | (native.Q_Y_NHWC if y in nhwc else 0)
        return Step(st.kind, st.operands, (*st.ints[:-1], layout), st.floats, y) if layout else st
    if st.kind == native.STEP_QMAXPOOL and x in nhwc:
        return Step(st.kind, st.operands, (*st.ints[:-1], native.Q_X_NHWC | native.Q_Y_NHWC), st.floats, y)
    if st.kind == native.STEP_QDWCONV2D and x in nhwc:
        w = st.operands[1]
        weights = const(w)
        assert weights is not None, "the depthwise lowering takes constant weights"
        c = weights.shape[0]
        # float32 [kh*kw][c rounded up to 16]: 16 channels of one tap are one vector load, zero past c
        taps = weights.reshape(c, -1).T
        packed = np.zeros((taps.shape[0], -(-c // 16) * 16), np.float32)
        packed[:, :c] = taps
        name = f"{w}/nhwc_f32"
        low.consts[name] = packed
        return Step(native.STEP_QDWCONV2D_NHWC, (x, name, *st.operands[2:]), (*st.ints[:-1], native.Q_X_NHWC |
                                                                                native.Q_Y_NHWC), st.floats, y)
    return st
