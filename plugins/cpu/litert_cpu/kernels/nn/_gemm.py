"""(Batched) matrix products split into tasks for litert's thread pool.

BLAS runs single-threaded inside a model (see ``litert_cpu.threads``); a big
product is cut into independent GEMMs over batch items, then over rows of the
left operand or columns of the right one, and run with ``parallel_for``.
Each piece is a plain BLAS call on strided views (``out=`` views with a row
stride are BLAS-compatible, so nothing is copied).
"""
from __future__ import annotations

import numpy as np

from ...threads import current_threads, parallel_for, split

#: products below this many multiply-adds per thread run as one call.  A task
#: hand-off costs two thread wake-ups (~15 us each on a 2-vCPU VM with the
#: CPUs kept busy, see ``litert_cpu.threads``), and the next (serial) op then
#: finds half its input in the other core's cache.  Lowered from 8 M to 2 M
#: when the idle keepers came in: MobileNetV2 (many 4-10 M products) ran 11%
#: faster on 2 threads, the other models within noise.
PARALLEL_MACS = 1 << 21


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b)`` (numpy broadcasting), in parallel when worth it."""
    if a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b, out=out)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if out is None:
        out = np.empty(batch + (m, n), np.result_type(a, b))
    threads = current_threads()
    nb = int(np.prod(batch)) if batch else 1
    if threads <= 1 or nb * m * n * k < PARALLEL_MACS * threads:
        return np.matmul(a, b, out=out)
    if batch:
        a = np.broadcast_to(a, batch + a.shape[-2:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
        index = list(np.ndindex(*batch))
    else:
        index = [()]
    if nb >= threads:  # whole batch items per task
        ranges = split(nb, threads * 2 if nb >= threads * 4 else threads)

        def task(t: int) -> None:
            for i in index[ranges[t][0]:ranges[t][1]]:
                np.matmul(a[i], b[i], out=out[i])

        parallel_for(len(ranges), task, threads)
        return out
    # few items: cut each along its larger side
    per = -(-threads // nb)
    if n >= m:
        pieces = [(i, slice(None), slice(c0, c1)) for i in index for c0, c1 in split(n, per, 16)]
    else:
        pieces = [(i, slice(r0, r1), slice(None)) for i in index for r0, r1 in split(m, per, 4)]

    def piece(t: int) -> None:
        i, rows, cols = pieces[t]
        np.matmul(a[i][rows], b[i][:, cols], out=out[i][rows, cols])

    parallel_for(len(pieces), piece, threads)
    return out
