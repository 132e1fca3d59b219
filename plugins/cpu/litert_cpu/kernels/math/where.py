"""Where: elementwise select with three-way broadcasting (any dtype, strings too)."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("Where")
class Where(Kernel):
    def run(self, cond, x, y):
        r = np.where(cond, x, y)
        if r.dtype != x.dtype:
            r = r.astype(x.dtype)
        return (r,)
