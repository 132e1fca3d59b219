"""Loop: a generic for/while loop over a body subgraph.

Node inputs ``(M, cond, v_initial...)``, both M and cond optional; body
inputs ``(iteration_num, cond_in, v...)`` and outputs
``(cond_out, v_out..., scan_out...)``.  Node outputs are the final loop-carried
values followed by each scan output stacked along a new axis 0.  When the
node has no ``cond`` input the body's ``cond_out`` is ignored (ONNX spec
table), so ``M`` alone is a plain for loop.
"""
from __future__ import annotations

import numpy as np

from litert.limits import check_deadline

from .._base import Kernel
from .._registry import kernel
from ._common import empty_stack, scalar_bool, scalar_int


@kernel("Loop")
class Loop(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.body = attrs["body"]
        self.n_carried = len(self.body.inputs) - 2
        self.n_scan = len(self.body.outputs) - 1 - self.n_carried

    def run(self, trip_count=None, cond=None, *initial):
        limit = scalar_int(trip_count) if trip_count is not None else None
        use_cond = cond is not None
        keep_going = scalar_bool(cond) if use_cond else True
        carried = list(initial)
        scans: list[list] = [[] for _ in range(self.n_scan)]
        run = self.ctx.run_subgraph
        n = self.n_carried
        i = 0
        while keep_going and (limit is None or i < limit):
            check_deadline("Loop")  # a file may ask for 2^63 iterations: predict(timeout=) bounds them
            outs = run(self.body, [np.array(i, dtype=np.int64), np.array(keep_going), *carried])
            if use_cond:
                keep_going = scalar_bool(outs[0])
            carried = outs[1 : 1 + n]
            for acc, value in zip(scans, outs[1 + n :]):
                acc.append(value)
            i += 1
        stacked = [
            np.stack(acc) if acc else empty_stack(self.body, self.body.outputs[1 + n + k])
            for k, acc in enumerate(scans)
        ]
        return (*carried, *stacked)
