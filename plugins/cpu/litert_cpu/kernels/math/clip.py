"""Clip with optional ``min``/``max`` inputs (the ONNX frontend turns Clip-1/6's attributes into them)."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("Clip")
class Clip(Kernel):
    """min(max(x, lo), hi); when lo > hi every value becomes hi, as ONNX requires."""

    def run(self, x, lo=None, hi=None):
        if lo is None and hi is None:
            return (x,)
        if lo is None:
            r = np.minimum(x, hi)
        elif hi is None:
            r = np.maximum(x, lo)
        else:
            r = np.clip(x, lo, hi)
        return (np.asarray(r).astype(x.dtype, copy=False),)
