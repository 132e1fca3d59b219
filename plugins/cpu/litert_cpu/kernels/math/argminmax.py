"""ArgMax / ArgMin along one axis, int64 indices, optional last-index tie-break."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


class _ArgReduce(Kernel):
    fn = staticmethod(np.argmax)

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.axis = int(attrs.get("axis", 0))
        self.keepdims = bool(attrs.get("keepdims", 1))
        self.last = bool(attrs.get("select_last_index", 0))

    def run(self, x):
        axis = self.axis + x.ndim if self.axis < 0 else self.axis
        if self.last:
            # First hit in the reversed axis is the last hit in the original.
            n = x.shape[axis]
            idx = n - 1 - self.fn(np.flip(x, axis), axis=axis, keepdims=self.keepdims)
        else:
            idx = self.fn(x, axis=axis, keepdims=self.keepdims)
        return (np.asarray(idx, dtype=np.int64),)


@kernel("ArgMax")
class ArgMax(_ArgReduce):
    fn = staticmethod(np.argmax)


@kernel("ArgMin")
class ArgMin(_ArgReduce):
    fn = staticmethod(np.argmin)
