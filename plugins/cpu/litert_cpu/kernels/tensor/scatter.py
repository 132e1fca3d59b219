"""Scatter, ScatterElements, ScatterND and TensorScatter (KV-cache writes).

Duplicate indices with ``reduction="none"`` follow numpy assignment order
(last write wins); the reductions use the unbuffered ``ufunc.at``.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import norm_axis
from .gather import elements_index, gather_nd_index, wrap_negative

REDUCTIONS = {
    "add": np.add,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@kernel("ScatterElements")
class ScatterElements(Kernel):
    def run(self, data, indices, updates):
        axis = norm_axis(self.attrs.get("axis", 0), data.ndim)
        reduction = self.attrs.get("reduction", "none")
        indices = wrap_negative(indices, data.shape[axis])
        out = data.copy()
        index = elements_index(indices, axis)
        if reduction == "none":
            out[index] = updates
        else:
            REDUCTIONS[reduction].at(out, index, updates)
        return (out,)


kernel("Scatter")(ScatterElements)


@kernel("ScatterND")
class ScatterND(Kernel):
    def run(self, data, indices, updates):
        reduction = self.attrs.get("reduction", "none")
        out = data.copy()
        k = indices.shape[-1]
        index = gather_nd_index(data.shape, indices, 0)[1:]  # no batch dims: drop the batch index
        upd = updates.reshape(index[0].shape + data.shape[k:])
        if reduction == "none":
            out[index] = upd
        else:
            REDUCTIONS[reduction].at(out, index, upd)
        return (out,)


@kernel("TensorScatter")
class TensorScatter(Kernel):
    """Write ``update`` into a copy of ``past_cache`` along ``axis`` at per-batch offsets."""

    def run(self, past_cache, update, write_indices=None):
        axis = norm_axis(self.attrs.get("axis", -2), past_cache.ndim)
        circular = self.attrs.get("mode", "linear") == "circular"
        out = past_cache.copy()
        nb = past_cache.shape[0]
        seq = update.shape[axis]
        cap = past_cache.shape[axis]
        if write_indices is None:
            write_indices = np.zeros(nb, dtype=np.int64)
        pos = write_indices.astype(np.int64).reshape(nb, 1) + np.arange(seq)
        if circular:
            pos %= cap
        view = np.moveaxis(out, axis, 1)  # (B, L, ...) view into out
        view[np.arange(nb).reshape(nb, 1), pos] = np.moveaxis(update, axis, 1)
        return (out,)
