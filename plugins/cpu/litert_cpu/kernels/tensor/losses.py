"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

Inputs are ``[N, C, d1, ...]`` scores with ``[N, d1, ...]`` integer targets;
entries equal to ``ignore_index`` contribute nothing (and no weight).
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


def nll(logp: np.ndarray, target: np.ndarray, weight, ignore_index, reduction: str) -> np.ndarray:
    dtype = logp.dtype
    target = target.astype(np.int64, copy=False)
    valid = None if ignore_index is None else target != ignore_index
    safe = target if valid is None else np.where(valid, target, 0)
    picked = np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    loss = -picked
    if weight is not None:
        w = weight[safe]
        if valid is not None:
            w = np.where(valid, w, 0).astype(dtype)
    elif valid is not None:
        w = valid.astype(dtype)
    else:
        w = None
    if w is not None:
        loss = loss * w
    if reduction == "none":
        return loss.astype(dtype, copy=False)
    total = loss.sum(dtype=np.float64 if dtype != np.float64 else None)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    denom = w.sum(dtype=np.float64) if w is not None else loss.size
    return np.asarray(total / denom, dtype=dtype)


@kernel("NegativeLogLikelihoodLoss")
class NegativeLogLikelihoodLoss(Kernel):
    def run(self, x, target, weight=None):
        return (nll(x, target, weight, self.attrs.get("ignore_index"), self.attrs.get("reduction", "mean")),)


def log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@kernel("SoftmaxCrossEntropyLoss")
class SoftmaxCrossEntropyLoss(Kernel):
    def run(self, scores, labels, weights=None):
        # Half-precision scores are normalised in float32, then cast back.
        work = scores if scores.dtype.itemsize >= 4 else scores.astype(np.float32)
        logp = log_softmax(work).astype(scores.dtype, copy=False)
        loss = nll(logp, labels, weights, self.attrs.get("ignore_index"), self.attrs.get("reduction", "mean"))
        return (loss, logp)[: max(self.ctx.num_outputs, 1)]
