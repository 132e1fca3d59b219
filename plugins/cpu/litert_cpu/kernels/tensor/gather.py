"""Gather, GatherElements, GatherND."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import norm_axis


def wrap_negative(indices: np.ndarray, dim) -> np.ndarray:
    """ONNX indices may be negative (counted from the end)."""
    if indices.size and indices.min() < 0:
        return np.where(indices < 0, indices + dim, indices)
    return indices


@kernel("Gather")
class Gather(Kernel):
    def run(self, data, indices):
        axis = norm_axis(self.attrs.get("axis", 0), data.ndim)
        if indices.ndim == 0:
            # A scalar index is basic indexing: a view, no copy.
            i = int(indices)
            return (data[(slice(None),) * axis + (i,)],)
        # np.take wraps negative indices like Python and raises on out-of-range.
        return (np.take(data, indices, axis=axis),)


@kernel("GatherElements")
class GatherElements(Kernel):
    def run(self, data, indices):
        axis = norm_axis(self.attrs.get("axis", 0), data.ndim)
        indices = wrap_negative(indices, data.shape[axis])
        if indices.shape == data.shape[:axis] + indices.shape[axis:axis + 1] + data.shape[axis + 1:]:
            return (np.take_along_axis(data, indices, axis=axis),)
        # ONNX lets indices be smaller than data on the other axes too.
        return (data[elements_index(indices, axis)],)


def elements_index(indices: np.ndarray, axis: int) -> tuple:
    """Full advanced-index tuple addressing ``indices``-shaped positions along ``axis``."""
    grids = list(np.ogrid[tuple(slice(0, s) for s in indices.shape)])
    grids[axis] = indices
    return tuple(grids)


def gather_nd_index(data_shape: tuple, indices: np.ndarray, batch_dims: int) -> tuple:
    """Advanced-index tuple into ``data`` reshaped to ``(prod(batch), *data_shape[b:])``.

    The index arrays have shape ``(prod(batch), n)`` with ``n`` index tuples
    per batch entry; negative indices are wrapped.
    """
    b = batch_dims
    k = indices.shape[-1]
    nb = int(np.prod(data_shape[:b], dtype=np.int64))
    n = indices.size // max(nb * k, 1)
    idx = indices.reshape(nb, n, k)
    if idx.size and idx.min() < 0:
        idx = np.where(idx < 0, idx + np.asarray(data_shape[b:b + k], dtype=np.int64), idx)
    batch = np.arange(nb).reshape(nb, 1)
    return (batch, *(idx[..., j] for j in range(k)))


@kernel("GatherND")
class GatherND(Kernel):
    def run(self, data, indices):
        b = self.attrs.get("batch_dims", 0)
        k = indices.shape[-1]
        index = gather_nd_index(data.shape, indices, b)
        flat = data.reshape((index[0].shape[0],) + data.shape[b:])
        return (flat[index].reshape(indices.shape[:-1] + data.shape[b + k:]),)
