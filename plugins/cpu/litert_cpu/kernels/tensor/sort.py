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


def _candidates(rows: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """Ascending positions of the k winners per row, found by partition in O(n).

    Everything strictly better than the k-th value wins, plus the earliest
    ties with it.  Rows must be NaN-free.
    """
    n = rows.shape[1]
    kth = n - k if largest else k - 1
    v = np.partition(rows, kth, axis=1)[:, kth : kth + 1]
    better = rows > v if largest else rows < v
    tie = rows == v
    need = k - better.sum(axis=1, keepdims=True)
    if (tie.sum(axis=1, keepdims=True) == need).all():
        chosen = better | tie
    else:
        chosen = better | (tie & (np.cumsum(tie, axis=1) <= need))
    return np.nonzero(chosen)[1].reshape(rows.shape[0], k)


def _sampled_row(row: np.ndarray, k: int, largest: bool) -> np.ndarray | None:
    """Winners' ascending positions in one long row via a sampled threshold.

    A strided sample of ~1024 values gives a threshold that keeps a few
    hundred candidates (always all ties of the k-th value); ``None`` when
    the sample was unlucky and fewer than k survive.
    """
    n = row.shape[0]
    sample = row[:: max(n // 1024, 1)]
    m = sample.shape[0]
    r = 2 * k * m // n + 8
    if r >= m:
        return None
    if largest:
        t = np.partition(sample, m - 1 - r)[m - 1 - r]
        cand = np.flatnonzero(row >= t)
    else:
        t = np.partition(sample, r)[r]
        cand = np.flatnonzero(row <= t)
    if cand.shape[0] < k:
        return None
    return cand


def topk(x: np.ndarray, k: int, axis: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    moved = np.moveaxis(x, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(int(np.prod(moved.shape[:-1], dtype=np.int64)), n)
    fast = 0 < k < n and rows.dtype.kind in "iuf"
    nan = fast and rows.dtype.kind == "f" and bool(np.isnan(rows).any())
    if k == 1 and fast and (largest or not nan):
        # argmax/argmin return the first extreme (NaN first for largest), as the tie rule asks.
        idx = (np.argmax if largest else np.argmin)(rows, axis=1)[:, None]
    elif not fast or nan:
        idx = _order(rows, largest)[:, :k]
    elif n >= 4096 and rows.shape[0] <= 16:
        idx = np.empty((rows.shape[0], k), dtype=np.int64)
        for r, row in enumerate(rows):
            cand = _sampled_row(row, k, largest)
            if cand is None:
                cand = _candidates(row[None], k, largest)[0]
            idx[r] = cand[_order(row[cand][None], largest)[0, :k]]
    else:
        pos = _candidates(rows, k, largest)
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
        flags = dict(return_index=True, return_inverse=True, return_counts=True)
        if axis is None:
            y, first, inverse, counts = np.unique(x.reshape(-1), **flags)
        else:
            axis = norm_axis(axis, x.ndim)
            y, first, inverse, counts = np.unique(x, axis=axis, **flags)
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
