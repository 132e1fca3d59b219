"""Thread control for the numpy kernels: who runs in parallel, and how.

(The compiled kernels have a pool of their own, in C, with no GIL involved:
``plugins/cpu/native/src/threadpool.c``.)

Intra-op parallelism is litert's own: a kernel splits its work into tasks
(blocks of output channels, rows, images) and :func:`parallel_for` runs them
on a small pool of persistent worker threads *and* the calling thread, which
claim tasks one at a time.  numpy releases the GIL inside BLAS calls and ufunc
loops, so the tasks run truly in parallel.  BLAS itself is held to one thread
while a model runs.  (numexpr is not used by the kernels: numpy's SIMD ufuncs
were measured 4-5x faster on float32 on this machine.)

BLAS core type: numpy's bundled OpenBLAS (0.3.31 with numpy 2.4) detects the
AVX-512 "SkylakeX" kernels by itself on Zen 5 (``litert list-backends`` shows it via
threadpoolctl); forcing OPENBLAS_CORETYPE=Haswell or SkylakeX measured the
same single-threaded GEMM rate (~100 GFLOP/s float32), so litert sets no
environment variable and never picks a core type itself.

Why not OpenBLAS's own threads: OpenBLAS splits every call statically and the
caller busy-waits for its workers.  On a machine shared with other processes
(the normal case for a library), a worker that is not scheduled promptly
stalls every GEMM by a scheduler time slice: measured here with two threads
under load, a 1 GFLOP GEMM took 97 ms instead of 14 ms single-threaded, and
SqueezeNet 48-150 ms instead of 12-17 ms.  With tasks claimed dynamically the
caller simply does the work a late worker has not started, so the worst case
is single-threaded speed (onnxruntime's thread pool behaves the same way).

Measured again (2 vCPUs, quiet machine, with spinning "idle keeper" threads
that litert ran before its compiled kernels existed): letting
OpenBLAS thread every product (its workers spin, no GIL) and running all
other work serially was 5-20% faster on batch-1 models (BERT-style encoder
9.8 vs 12.5 ms, SqueezeNet 9.2 vs 10.2 ms) but 4% slower on DenseNet and 36%
slower on MobileNetV2 at batch 8 (depthwise convs and pools lose their
parallelism; running them on litert's pool next to spinning OpenBLAS
workers was slower still), and it keeps the load-sensitivity above: with one
other busy process on the machine, median ResNet-50 212 ms against 103 ms
for litert's pool, BERT-style 23 against 13.5 ms.

Where threads run: Linux wakes a thread on the waker's CPU ("wake-affine"), so
a worker woken for a 100 us task preempted the caller on its own core while
the other core idled, and the split GEMM took as long as the whole one.  When
a model starts a run with several threads, the workers are therefore moved
to the CPUs other than the one the caller runs on (the caller itself is left
alone: pinning it too measured no better and would make concurrent runs from
several threads share one CPU).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import os
import sys
import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import queue


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


# ---------------------------------------------------------------- task pool


class _Job:
    """One parallel_for call: ``n`` tasks claimed in order by whoever is free."""

    __slots__ = ("fn", "n", "claim", "done", "lock", "finished", "error")

    def __init__(self, fn: Callable[[int], None], n: int):
        self.fn = fn
        self.n = n
        self.claim = itertools.count()  # next() is atomic under the GIL
        self.done = 0
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        while True:
            i = next(self.claim)
            if i >= self.n:
                return
            try:
                if self.error is None:
                    self.fn(i)
            except BaseException as err:  # re-raised in the caller
                self.error = err
            with self.lock:
                self.done += 1
                if self.done == self.n:
                    self.finished.set()


class _Pool:
    """Persistent daemon workers; each waits on its own queue for jobs.

    ``cpus`` is the CPU set the workers should run on (None: anywhere); a
    worker moves itself there when it picks up a job and the set changed."""

    def __init__(self):
        self.queues: list[queue.SimpleQueue] = []
        self.lock = threading.Lock()
        self.cpus: frozenset[int] | None = None

    def workers(self, count: int) -> list[queue.SimpleQueue]:
        with self.lock:
            while len(self.queues) < count:
                import queue  # here: a load imports this module, the first parallel run makes the workers

                q: queue.SimpleQueue = queue.SimpleQueue()
                t = threading.Thread(target=self._loop, args=(q,), name=f"litert-cpu-{len(self.queues)}", daemon=True)
                t.start()
                self.queues.append(q)
            return self.queues[:count]

    def _loop(self, q: queue.SimpleQueue) -> None:
        _state.worker = True
        placed = None
        while True:
            job = q.get()
            cpus = self.cpus
            if cpus != placed:
                _set_affinity(cpus)
                placed = cpus
            job.work()


_POOL = _Pool()
_state = threading.local()  # .threads: budget of the running model; .worker: inside a task


def current_threads() -> int:
    """The thread budget of the model running on this thread (1 outside a run)."""
    return getattr(_state, "threads", 1)


def parallel_for(n: int, fn: Callable[[int], None], threads: int | None = None) -> None:
    """Run ``fn(0) .. fn(n-1)``, in parallel when the thread budget allows.

    Tasks must write disjoint outputs.  Inside a task (a nested call) the
    tasks run serially, so pools never wait on themselves.
    """
    threads = current_threads() if threads is None else threads
    if threads <= 1 or n <= 1 or getattr(_state, "worker", False):
        for i in range(n):
            fn(i)
        return
    job = _Job(fn, n)
    for q in _POOL.workers(min(threads, n) - 1):
        q.put(job)
    _state.worker = True
    try:
        job.work()
    finally:
        _state.worker = False
    job.finished.wait()
    if job.error is not None:
        raise job.error


def split(total: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``total`` cut into at most ``parts`` contiguous ranges (multiples of ``align``)."""
    parts = max(1, min(parts, -(-total // align)))
    step = -(-total // parts)
    step = -(-step // align) * align
    return [(a, min(total, a + step)) for a in range(0, total, step)]


# ---------------------------------------------------------------- glibc


@functools.lru_cache(maxsize=1)
def _libc():
    """glibc through ctypes (its calls release the GIL), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# ---------------------------------------------------------------- CPU placement

def _current_cpu() -> int | None:
    """The CPU this thread runs on (glibc's sched_getcpu), None if unknown."""
    libc = _libc()
    try:
        cpu = int(libc.sched_getcpu()) if libc is not None else -1
    except AttributeError:
        return None
    return cpu if cpu >= 0 else None


def _set_affinity(cpus) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):  # None/empty: leave as is
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass


def _place_workers(threads: int) -> None:
    """Move the workers off the caller's CPU (see the module docstring); a
    no-op for one thread or where Linux affinity is unavailable."""
    if threads <= 1 or getattr(_state, "worker", False) or not hasattr(os, "sched_getaffinity"):
        return
    try:
        allowed = frozenset(os.sched_getaffinity(0))
    except OSError:
        return
    cpu = _current_cpu()
    if len(allowed) >= 2 and cpu in allowed:
        others = allowed - {cpu}
        if _POOL.cpus != others:
            _POOL.cpus = others  # each worker moves itself when it next picks up a job


@contextlib.contextmanager
def limit(threads: int):
    """Run a model's numpy kernels with a budget of ``threads`` threads for
    litert's own tasks; BLAS is held to one thread meanwhile."""
    previous = getattr(_state, "threads", None)
    _state.threads = max(1, int(threads))
    try:
        _place_workers(_state.threads)
        with _controller().limit(limits=1):
            yield
    finally:
        if previous is None:
            del _state.threads
        else:
            _state.threads = previous
