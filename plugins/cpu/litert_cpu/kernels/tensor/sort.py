"""TopK and Unique.

TopK orders ties by ascending index (like the ONNX reference and
onnxruntime).  For ``largest`` we stable-sort the reversed array and
reverse back, which yields descending values with ties still in ascending
index order, for every dtype (no negation, so unsigned ints and NaN behave).
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import norm_axis


def _order(rows: np.ndarray, largest: bool) -> np.ndarray:
    """Per-row sort order of a 2-D array: ascending stable, or descending with ties by index."""
    if not largest:
        return np.argsort(rows, axis=1, kind="stable")
    n = rows.shape[1]
    return (n - 1) - np.argsort(rows[:, ::-1], axis=1, kind="stable")[:, ::-1]


def _candidates(rows: np.ndarray, k: int, largest: bool) -> np.ndarray | None:
    """Ascending positions of the k winners per row, found by partition in O(n).

    Everything strictly better than the k-th value wins, plus the earliest
    ties with it.  ``None`` when NaNs make the threshold meaningless.
    """
    n = rows.shape[1]
    kth = n - k if largest else k - 1
    v = np.partition(rows, kth, axis=1)[:, kth : kth + 1]
    if v.dtype.kind == "f" and np.isnan(v).any():
        return None
    better = rows > v if largest else rows < v
    tie = rows == v
    need = k - better.sum(axis=1, keepdims=True)
    chosen = better | (tie & (np.cumsum(tie, axis=1) <= need))
    return np.nonzero(chosen)[1].reshape(rows.shape[0], k)


def topk(x: np.ndarray, k: int, axis: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    moved = np.moveaxis(x, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    pos = None
    if 0 < k < n // 4 and rows.dtype.kind in "iuf":
        pos = _candidates(rows, k, largest)
    if pos is None:
        idx = _order(rows, largest)[:, :k]
    else:
        sub = np.take_along_axis(rows, pos, axis=1)
        idx = np.take_along_axis(pos, _order(sub, largest), axis=1)
    values = np.take_along_axis(rows, idx, axis=1)
    shape = moved.shape[:-1] + (k,)
    values = np.moveaxis(values.reshape(shape), -1, axis)
    idx = np.moveaxis(idx.reshape(shape), -1, axis)
    return values, idx.astype(np.int64, copy=False)


@kernel("TopK")
class TopK(Kernel):
    def run(self, x, k=None):
        kk = int(np.asarray(k).reshape(-1)[0]) if k is not None else int(self.attrs["k"])
        axis = norm_axis(self.attrs.get("axis", -1), x.ndim)
        values, indices = topk(x, kk, axis, bool(self.attrs.get("largest", 1)))
        return values, indices


@kernel("Unique")
class Unique(Kernel):
    def run(self, x):
        axis = self.attrs.get("axis")
        if axis is None:
            y, first, inverse, counts = np.unique(x.reshape(-1), return_index=True, return_inverse=True, return_counts=True)
        else:
            axis = norm_axis(axis, x.ndim)
            y, first, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True, axis=axis)
        inverse = inverse.reshape(-1)
        if not self.attrs.get("sorted", 1):
            # Reorder the unique values by first occurrence.
            order = np.argsort(first, kind="stable")
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size)
            y = np.take(y, order, axis=0 if axis is None else axis)
            first, counts, inverse = first[order], counts[order], rank[inverse]
        outs = (y, first.astype(np.int64), inverse.astype(np.int64), counts.astype(np.int64))
        return outs[: max(self.ctx.num_outputs, 1)]
