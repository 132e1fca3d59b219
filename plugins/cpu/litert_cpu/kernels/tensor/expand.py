"""Expand (a read-only broadcast view) and Tile."""
from __future__ import annotations

import numpy as np

from litert.limits import check_shape

from .._base import Kernel
from .._registry import kernel
from ._common import int_list


@kernel("Expand")
class Expand(Kernel):
    def run(self, data, shape):
        out_shape = np.broadcast_shapes(data.shape, tuple(int_list(shape)))
        check_shape(out_shape, data.itemsize, "Expand output")  # a view now, copied by the next node
        if out_shape == data.shape:
            return (data,)
        return (np.broadcast_to(data, out_shape),)


@kernel("Tile")
class Tile(Kernel):
    def run(self, data, repeats, axis=None):
        reps = int_list(repeats)
        if axis is not None:  # opset 1: a scalar tile count along one axis
            reps, count = [1] * data.ndim, reps[0]
            reps[int(axis)] = count
        rank = max(len(reps), data.ndim)  # np.tile pads the shorter of shape and reps with leading 1s
        dims = [1] * (rank - data.ndim) + list(data.shape)
        reps_full = [1] * (rank - len(reps)) + list(reps)
        check_shape([d * r for d, r in zip(dims, reps_full)], data.itemsize, "Tile output")
        return (np.tile(data, reps),)
