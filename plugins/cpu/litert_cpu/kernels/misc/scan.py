"""Scan (opset 9+ semantics): iterate a body over slices of the scan inputs.

Inputs are N initial states then M scan inputs; each scan input is sliced
along ``scan_input_axes[j]`` (reversed when ``scan_input_directions[j]`` is
1).  Outputs are the N final states then K scan outputs, the per-iteration
body outputs stacked along ``scan_output_axes[k]`` (in reverse iteration
order when ``scan_output_directions[k]`` is 1).
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import empty_stack


@kernel("Scan")
class Scan(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.body = attrs["body"]
        self.m = int(attrs["num_scan_inputs"])
        self.n = len(self.body.inputs) - self.m
        self.k = len(self.body.outputs) - self.n
        self.in_axes = list(attrs.get("scan_input_axes") or [0] * self.m)
        self.in_dirs = list(attrs.get("scan_input_directions") or [0] * self.m)
        self.out_axes = list(attrs.get("scan_output_axes") or [0] * self.k)
        self.out_dirs = list(attrs.get("scan_output_directions") or [0] * self.k)

    def run(self, *inputs):
        states = list(inputs[: self.n])
        sliced = []
        for x, axis, direction in zip(inputs[self.n :], self.in_axes, self.in_dirs):
            view = np.moveaxis(x, axis, 0) if axis not in (0, -x.ndim) else x
            sliced.append(view[::-1] if direction else view)
        lengths = {len(s) for s in sliced}
        if len(lengths) != 1:
            raise ValueError(f"scan inputs disagree on the sequence length: {sorted(lengths)}")
        steps = lengths.pop()
        scans: list[list] = [[] for _ in range(self.k)]
        run = self.ctx.run_subgraph
        for t in range(steps):
            outs = run(self.body, [*states, *(s[t] for s in sliced)])
            states = outs[: self.n]
            for acc, value in zip(scans, outs[self.n :]):
                acc.append(value)
        results = []
        for k, acc in enumerate(scans):
            axis = self.out_axes[k]
            if not acc:
                results.append(empty_stack(self.body, self.body.outputs[self.n + k], axis))
                continue
            if self.out_dirs[k]:
                acc.reverse()
            results.append(np.stack(acc, axis=axis))
        return (*states, *results)
