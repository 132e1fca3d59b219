"""Shape-only operators: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze.

All of them return numpy views of their input where numpy can (reshape of a
contiguous array never copies).
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import const_int_list, int_list, norm_axes


@kernel("Shape")
class Shape(Kernel):
    def run(self, data):
        shape = data.shape
        rank = len(shape)
        start = self.attrs.get("start", 0)
        end = self.attrs.get("end", rank)
        # Python slicing clamps exactly like the ONNX spec.
        return (np.array(shape[start:end] if end is not None else shape[start:], dtype=np.int64),)


@kernel("Size")
class Size(Kernel):
    def run(self, data):
        return (np.array(data.size, dtype=np.int64),)


def reshape_target(in_shape: tuple, shape: list[int], allowzero: bool) -> list[int]:
    """Resolve ONNX ``0`` (copy input dim) entries; ``-1`` is left for numpy."""
    if allowzero:
        return shape
    return [in_shape[i] if s == 0 else s for i, s in enumerate(shape)]


@kernel("Reshape")
class Reshape(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.allowzero = bool(attrs.get("allowzero", 0))
        self.shape = const_int_list(ctx, 1)
        if self.shape is None and "shape" in attrs:  # opset < 5
            self.shape = int_list(attrs["shape"])
        # Static fast path: no 0 entries to resolve.
        self.static = self.shape is not None and (self.allowzero or 0 not in self.shape)
        if self.shape is not None:
            self.shape = tuple(self.shape)

    def run(self, data, shape=None):
        if self.static:
            return (data.reshape(self.shape),)
        target = self.shape if shape is None else int_list(shape)
        return (data.reshape(reshape_target(data.shape, target, self.allowzero)),)


@kernel("Flatten")
class Flatten(Kernel):
    def run(self, data):
        axis = self.attrs.get("axis", 1)
        if axis < 0:
            axis += data.ndim
        outer = int(np.prod(data.shape[:axis], dtype=np.int64))
        inner = int(np.prod(data.shape[axis:], dtype=np.int64))
        return (data.reshape(outer, inner),)


class _AxesOp(Kernel):
    """Squeeze / Unsqueeze: ``axes`` from the (usually constant) input (opset 13; the
    ONNX frontend turns the older attribute into it)."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.axes = const_int_list(ctx, 1)
        self._norm: dict[int, tuple[int, ...]] = {}  # input rank -> normalised constant axes

    @staticmethod
    def out_rank(ndim: int, n_axes: int) -> int:
        raise NotImplementedError

    def norm(self, ndim: int, axes) -> tuple[int, ...] | None:
        if axes is not None:
            return tuple(norm_axes(int_list(axes) or [], self.out_rank(ndim, axes.size)))
        if self.axes is None:
            return None
        cached = self._norm.get(ndim)
        if cached is None:
            cached = self._norm[ndim] = tuple(norm_axes(self.axes, self.out_rank(ndim, len(self.axes))))
        return cached


@kernel("Squeeze")
class Squeeze(_AxesOp):
    @staticmethod
    def out_rank(ndim, n_axes):
        return ndim

    def run(self, data, axes=None):
        return (np.squeeze(data, axis=self.norm(data.ndim, axes)),)


@kernel("Unsqueeze")
class Unsqueeze(_AxesOp):
    @staticmethod
    def out_rank(ndim, n_axes):
        return ndim + n_axes

    def run(self, data, axes=None):
        # expand_dims is always a view, even of a non-contiguous input.
        return (np.expand_dims(data, self.norm(data.ndim, axes)),)
