"""Thread control for the libraries the CPU kernels spend their time in."""
from __future__ import annotations

import contextlib
import os

def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def blas_info() -> list[dict]:
    """What threadpoolctl sees: BLAS libraries, their core type and threads."""
    from threadpoolctl import threadpool_info

    return threadpool_info()


_CONTROLLER = None


def _controller():
    """One ThreadpoolController per process: finding the libraries costs
    milliseconds, setting their thread counts microseconds."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def limit(threads: int):
    """Run the body with BLAS and numexpr limited to ``threads`` threads."""
    import numexpr

    previous = numexpr.get_num_threads()
    if previous != threads:  # setting it costs a thread-pool restart
        numexpr.set_num_threads(threads)
    try:
        with _controller().limit(limits=threads):
            yield
    finally:
        if previous != threads:
            numexpr.set_num_threads(previous)
