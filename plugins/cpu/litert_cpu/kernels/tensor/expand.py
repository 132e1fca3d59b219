"""Expand (a read-only broadcast view) and Tile."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import int_list


@kernel("Expand")
class Expand(Kernel):
    def run(self, data, shape):
        out_shape = np.broadcast_shapes(data.shape, tuple(int_list(shape)))
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
        return (np.tile(data, reps),)
