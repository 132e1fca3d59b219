"""Sequence operators.  A sequence value is a Python list of arrays.

Kernels never mutate their input list (a sequence may be read by several
nodes or carried through a loop); they build a new one.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import seq_index


@kernel("SequenceEmpty")
class SequenceEmpty(Kernel):
    def run(self):
        return ([],)


@kernel("SequenceConstruct")
class SequenceConstruct(Kernel):
    def run(self, *tensors):
        return (list(tensors),)


@kernel("SequenceInsert")
class SequenceInsert(Kernel):
    def run(self, seq, tensor, position=None):
        out = list(seq)
        if position is None:
            out.append(tensor)
        else:
            out.insert(seq_index(position, len(seq), inclusive=True), tensor)
        return (out,)


@kernel("SequenceErase")
class SequenceErase(Kernel):
    def run(self, seq, position=None):
        out = list(seq)
        del out[-1 if position is None else seq_index(position, len(seq))]
        return (out,)


@kernel("SequenceAt")
class SequenceAt(Kernel):
    def run(self, seq, position):
        return (seq[seq_index(position, len(seq))],)


@kernel("SequenceLength")
class SequenceLength(Kernel):
    def run(self, seq):
        return (np.array(len(seq), dtype=np.int64),)


@kernel("SplitToSequence")
class SplitToSequence(Kernel):
    """Split into a sequence: pieces of size 1 (squeezed unless ``keepdims``),
    of a scalar ``split`` size (the last one shorter), or of listed sizes."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.axis = int(attrs.get("axis", 0))
        self.keepdims = bool(attrs.get("keepdims", 1))

    def run(self, x, split=None):
        axis = self.axis + x.ndim if self.axis < 0 else self.axis
        dim = x.shape[axis]
        if split is None:
            if self.keepdims:
                return (np.split(x, dim, axis=axis) if dim else [],)
            return (list(np.moveaxis(x, axis, 0)),)
        split = np.asarray(split)
        if split.ndim == 0:
            size = int(split)
            if size <= 0:
                raise ValueError(f"split size must be positive, got {size}")
            cuts = list(range(size, dim, size))
        else:
            sizes = split.astype(np.int64)
            if int(sizes.sum()) != dim or (sizes < 0).any():
                raise ValueError(f"split sizes {sizes.tolist()} do not add up to dimension {dim}")
            cuts = np.cumsum(sizes)[:-1].tolist()
        return (np.split(x, cuts, axis=axis),)


@kernel("ConcatFromSequence")
class ConcatFromSequence(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.axis = int(attrs["axis"])
        self.new_axis = bool(attrs.get("new_axis", 0))

    def run(self, seq):
        if not seq:
            raise ValueError("ConcatFromSequence of an empty sequence")
        if self.new_axis:
            return (np.stack(seq, axis=self.axis),)
        return (np.concatenate(seq, axis=self.axis),)


