"""If: run one of two subgraphs; their outputs become the node's outputs."""
from __future__ import annotations

from .._base import Kernel
from .._registry import kernel
from ._common import scalar_bool


@kernel("If")
class If(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.then_branch = attrs["then_branch"]
        self.else_branch = attrs["else_branch"]

    def run(self, cond):
        branch = self.then_branch if scalar_bool(cond) else self.else_branch
        return tuple(self.ctx.run_subgraph(branch, []))
