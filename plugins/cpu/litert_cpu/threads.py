"""Thread control for the libraries the CPU kernels spend their time in."""
from __future__ import annotations

import contextlib
import os

_LIMITERS: dict[int, object] = {}


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def blas_info() -> list[dict]:
    """What threadpoolctl sees: BLAS libraries, their core type and threads."""
    from threadpoolctl import threadpool_info

    return threadpool_info()


@contextlib.contextmanager
def limit(threads: int):
    """Run the body with BLAS and numexpr limited to ``threads`` threads."""
    import numexpr
    from threadpoolctl import threadpool_limits

    previous = numexpr.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        numexpr.set_num_threads(previous)
