"""SwiGLU: ``A * sigmoid(alpha * A) * B``."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("SwiGLU")
class SwiGLU(Kernel):
    def run(self, a, b):
        alpha = float(self.attrs.get("alpha", 1.0))
        with np.errstate(over="ignore"):
            gate = (1 / (1 + np.exp(-alpha * a))).astype(a.dtype)
        return ((a * gate * b).astype(a.dtype, copy=False),)
