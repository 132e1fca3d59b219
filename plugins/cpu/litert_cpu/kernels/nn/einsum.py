"""Einsum through numpy; the contraction path (which lets numpy use BLAS) is
planned once per input shapes."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


@kernel("Einsum")
class Einsum(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.equation = attrs["equation"].replace(" ", "")
        self._paths: dict = {}

    def run(self, *xs):
        dt = xs[0].dtype
        cdt = compute_dtype(dt)
        ops = [x.astype(cdt, copy=False) for x in xs]
        key = tuple(x.shape for x in ops)
        path = self._paths.get(key)
        if path is None:
            path = np.einsum_path(self.equation, *ops, optimize="greedy")[0] if len(ops) > 1 else False
            self._paths[key] = path
        y = np.einsum(self.equation, *ops, optimize=path)
        return (np.asarray(y).astype(dt, copy=False),)
