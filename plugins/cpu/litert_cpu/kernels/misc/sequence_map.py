"""SequenceMap: run the body once per element of the input sequence.

Additional inputs that are sequences are indexed alongside the first one;
tensors are passed unchanged to every iteration.  Each body output is
collected into one output sequence.
"""
from __future__ import annotations

from .._base import Kernel
from .._registry import kernel


@kernel("SequenceMap")
class SequenceMap(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.body = attrs["body"]

    def run(self, seq, *extra):
        for other in extra:
            if isinstance(other, list) and len(other) != len(seq):
                raise ValueError(f"SequenceMap: sequences of lengths {len(seq)} and {len(other)}")
        outs: list[list] = [[] for _ in self.body.outputs]
        run = self.ctx.run_subgraph
        for i, item in enumerate(seq):
            args = [item, *(o[i] if isinstance(o, list) else o for o in extra)]
            for acc, value in zip(outs, run(self.body, args)):
                acc.append(value)
        return tuple(outs)
