"""Clip with optional ``min``/``max`` inputs (or the Clip-1/6 attributes)."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


def _attr_bound(value, dtype: np.dtype):
    """An attribute bound (python float) as a 0-d array of ``dtype``, None if it clips nothing."""
    if value is None:
        return None
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not info.min < value < info.max:
            return None
        return np.asarray(value).astype(dtype)
    with np.errstate(over="ignore"):
        return np.asarray(value, dtype=np.float64).astype(dtype)  # beyond range -> +-inf


@kernel("Clip")
class Clip(Kernel):
    """min(max(x, lo), hi); when lo > hi every value becomes hi, as ONNX requires."""

    def run(self, x, lo=None, hi=None):
        if lo is None:
            lo = _attr_bound(self.attrs.get("min"), x.dtype)
        if hi is None:
            hi = _attr_bound(self.attrs.get("max"), x.dtype)
        if lo is None and hi is None:
            return (x,)
        if lo is None:
            r = np.minimum(x, hi)
        elif hi is None:
            r = np.maximum(x, lo)
        else:
            r = np.clip(x, lo, hi)
        return (np.asarray(r).astype(x.dtype, copy=False),)
