"""Slice: a numpy basic-indexing view.

Python slice semantics clamp out-of-range starts/ends exactly as the ONNX spec
asks (for both positive and negative steps), so the parameters are passed
straight to ``slice`` objects.
"""
from __future__ import annotations

from .._base import Kernel
from .._registry import kernel
from ._common import const_int_list, int_list


def build_index(rank: int, starts, ends, axes, steps) -> tuple:
    index = [slice(None)] * rank
    if axes is None:
        axes = range(len(starts))
    if steps is None:
        steps = [1] * len(starts)
    for s, e, a, st in zip(starts, ends, axes, steps):
        if a < 0:
            a += rank
        index[a] = slice(s, e, st)
    return tuple(index)


@kernel("Slice")
class Slice(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.params = None
        if "starts" in attrs:  # opset < 10: attribute form
            self.params = (int_list(attrs["starts"]), int_list(attrs["ends"]), int_list(attrs.get("axes")), None)
        else:
            consts = [const_int_list(ctx, i) for i in range(1, 5)]
            n_in = len(ctx.consts)
            # Every given parameter is constant: precompute the index tuple.
            if all(consts[i] is not None or i + 1 >= n_in for i in range(4)) and consts[0] is not None:
                self.params = tuple(consts)
        self.index = None
        rank = len(ctx.input_shapes[0]) if ctx.input_shapes and ctx.input_shapes[0] is not None else None
        if self.params is not None and rank is not None:
            self.index = build_index(rank, *self.params)

    def run(self, data, starts=None, ends=None, axes=None, steps=None):
        if self.index is not None and len(self.index) == data.ndim:
            return (data[self.index],)
        if self.params is not None:
            return (data[build_index(data.ndim, *self.params)],)
        index = build_index(data.ndim, int_list(starts), int_list(ends), int_list(axes), int_list(steps))
        return (data[index],)
