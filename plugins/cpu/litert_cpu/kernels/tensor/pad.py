"""Pad (constant / reflect / edge / wrap, optional axes) and CenterCropPad."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import const_int_list, int_list, norm_axes


def pad_widths(rank: int, pads: list[int], axes: list[int] | None) -> list[tuple[int, int]]:
    axes = list(range(rank)) if axes is None else norm_axes(axes, rank)
    n = len(axes)
    if len(pads) != 2 * n:
        raise ValueError(f"pads has {len(pads)} entries for {n} axes")
    widths = [(0, 0)] * rank
    for i, a in enumerate(axes):
        widths[a] = (pads[i], pads[n + i])
    return widths


def pad(data: np.ndarray, widths, mode: str, value) -> np.ndarray:
    # Negative pads crop: do that first as a view.
    if any(b < 0 or e < 0 for b, e in widths):
        index = tuple(slice(max(-b, 0), n + e if e < 0 else None) for n, (b, e) in zip(data.shape, widths))
        data = data[index]
        widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    if not any(b or e for b, e in widths):
        return data
    if mode == "constant":
        shape = tuple(s + b + e for s, (b, e) in zip(data.shape, widths))
        out = np.full(shape, value, dtype=data.dtype)
        out[tuple(slice(b, b + s) for s, (b, _) in zip(data.shape, widths))] = data
        return out
    return np.pad(data, widths, mode=mode)  # type: ignore[call-overload]  # ONNX's edge/reflect/wrap are numpy's names


@kernel("Pad")
class Pad(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.mode = attrs.get("mode", "constant")
        self.pads = const_int_list(ctx, 1)
        if self.pads is None:
            self.pads = int_list(attrs.get("pads", attrs.get("paddings")))  # opset < 11
        self.axes = const_int_list(ctx, 3)

    def run(self, data, pads=None, constant_value=None, axes=None):
        p = self.pads if pads is None else int_list(pads)
        ax = self.axes if axes is None else int_list(axes)
        if constant_value is not None and constant_value.size:
            value = constant_value.reshape(-1)[0]
        else:
            value = self.attrs.get("value", 0)
        return (pad(data, pad_widths(data.ndim, p, ax), self.mode, value),)


@kernel("CenterCropPad")
class CenterCropPad(Kernel):
    def run(self, data, shape):
        target = int_list(shape)
        axes = self.attrs.get("axes")
        axes = list(range(data.ndim)) if axes is None else norm_axes(axes, data.ndim)
        crop = [slice(None)] * data.ndim
        place = [slice(None)] * data.ndim
        out_shape = list(data.shape)
        for a, size in zip(axes, target):
            dim = data.shape[a]
            out_shape[a] = size
            if size < dim:
                start = (dim - size) // 2
                crop[a] = slice(start, start + size)
            elif size > dim:
                start = (size - dim) // 2
                place[a] = slice(start, start + dim)
        cropped = data[tuple(crop)]
        if tuple(out_shape) == cropped.shape:
            return (cropped,)
        out = np.zeros(out_shape, dtype=data.dtype)
        out[tuple(place)] = cropped
        return (out,)
