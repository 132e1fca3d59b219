"""CumSum / CumProd along a runtime axis with ``exclusive`` and ``reverse``."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._base import Kernel
from .._registry import kernel


class _Cumulative(Kernel):
    fn: Callable[..., np.ndarray] = staticmethod(np.cumsum)
    identity = 0

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.exclusive = bool(attrs.get("exclusive", 0))
        self.reverse = bool(attrs.get("reverse", 0))

    def run(self, x, axis):
        axis = int(np.asarray(axis).reshape(-1)[0])
        if axis < 0:
            axis += x.ndim
        src = np.flip(x, axis) if self.reverse else x
        acc = x.dtype if x.dtype.kind in "iuf" and x.dtype.itemsize >= 4 else np.float32
        with np.errstate(all="ignore"):
            r = self.fn(src, axis=axis, dtype=acc)
        if self.exclusive:
            # Shift by one along the axis, the identity element entering first.
            shifted = np.empty_like(r)
            head = [slice(None)] * x.ndim
            head[axis] = slice(0, 1)
            rest = list(head)
            rest[axis] = slice(1, None)
            body = list(head)
            body[axis] = slice(0, -1)
            shifted[tuple(head)] = self.identity
            shifted[tuple(rest)] = r[tuple(body)]
            r = shifted
        if self.reverse:
            r = np.flip(r, axis)
        return (np.ascontiguousarray(r).astype(x.dtype, copy=False),)


@kernel("CumSum")
class CumSum(_Cumulative):
    fn = staticmethod(np.cumsum)
    identity = 0


@kernel("CumProd")
class CumProd(_Cumulative):
    fn = staticmethod(np.cumprod)
    identity = 1
