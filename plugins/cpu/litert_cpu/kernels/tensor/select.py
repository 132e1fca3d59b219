"""Masking and selection: Trilu, Compress, NonZero, OneHot, ReverseSequence."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import norm_axis


@kernel("Trilu")
class Trilu(Kernel):
    def run(self, x, k=None):
        kk = 0 if k is None else int(k)
        fn = np.triu if self.attrs.get("upper", 1) else np.tril
        return (fn(x, kk),)


@kernel("Compress")
class Compress(Kernel):
    def run(self, x, condition):
        axis = self.attrs.get("axis")
        cond = condition.astype(bool, copy=False)
        if axis is None:
            return (np.compress(cond, x.reshape(-1)),)
        return (np.compress(cond, x, axis=norm_axis(axis, x.ndim)),)


@kernel("NonZero")
class NonZero(Kernel):
    def run(self, x):
        if x.ndim == 0:
            return (np.zeros((0, int(x != 0)), dtype=np.int64),)
        return (np.array(np.nonzero(x), dtype=np.int64).reshape(x.ndim, -1),)


@kernel("OneHot")
class OneHot(Kernel):
    def run(self, indices, depth, values):
        d = int(np.asarray(depth).reshape(-1)[0])
        axis = self.attrs.get("axis", -1)
        rank = indices.ndim
        if axis < 0:
            axis += rank + 1
        idx = indices.astype(np.int64, copy=False)
        idx = np.where(idx < 0, idx + d, idx)
        shape = [1] * (rank + 1)
        shape[axis] = d
        mask = np.expand_dims(idx, axis) == np.arange(d).reshape(shape)
        off, on = values[0], values[1]
        return (np.where(mask, on, off).astype(values.dtype, copy=False),)


@kernel("ReverseSequence")
class ReverseSequence(Kernel):
    """Reverse the first ``sequence_lens[b]`` time steps of each batch entry."""

    def run(self, x, sequence_lens):
        b_ax = self.attrs.get("batch_axis", 1)
        t_ax = self.attrs.get("time_axis", 0)
        lens = sequence_lens.astype(np.int64).reshape(-1, 1)
        t = np.arange(x.shape[t_ax])
        src = np.where(t < lens, lens - 1 - t, t)  # (B, T)
        if b_ax > t_ax:
            src = src.T
        shape = [1] * x.ndim
        shape[b_ax] = x.shape[b_ax]
        shape[t_ax] = x.shape[t_ax]
        return (np.take_along_axis(x, src.reshape(shape), axis=t_ax),)
