"""Concat and Split (Split returns views of its input)."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import const_int_list, int_list, norm_axis


@kernel("Concat")
class Concat(Kernel):
    def run(self, *inputs):
        axis = self.attrs["axis"]
        if len(inputs) == 1:
            return (inputs[0],)
        return (np.concatenate(inputs, axis=axis),)


def split_sizes(dim: int, count: int, num_outputs: int | None) -> list[int]:
    """Equal-size chunks; with ``num_outputs`` the last chunk may be smaller."""
    if num_outputs is not None:
        chunk = -(-dim // num_outputs)
        sizes = [chunk] * (num_outputs - 1)
        return sizes + [dim - chunk * (num_outputs - 1)]
    if dim % count:
        raise ValueError(f"cannot split dim {dim} into {count} equal parts")
    return [dim // count] * count


@kernel("Split")
class Split(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.split = const_int_list(ctx, 1)
        if self.split is None:
            self.split = int_list(attrs.get("split"))

    def run(self, data, split=None):
        axis = norm_axis(self.attrs.get("axis", 0), data.ndim)
        sizes = self.split if split is None else int_list(split)
        if sizes is None:
            sizes = split_sizes(data.shape[axis], self.ctx.num_outputs, self.attrs.get("num_outputs"))
        bounds = np.cumsum(sizes[:-1]).tolist()
        return tuple(np.split(data, bounds, axis=axis))
