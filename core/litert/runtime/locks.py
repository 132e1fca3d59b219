"""A lock with a shared and an exclusive side, for a session's runs and resizes.

Runs of one session may overlap (each takes its own arena; the CPU backend's
compiled segments run without the GIL, which is what lets a ModelParallelRunner
or a web server's threads use several cores on one loaded model), but a
resize rebuilds what runs read: it waits for the runs in flight and holds new
ones back until it is done. A waiting resize is served before new runs start,
so a stream of runs cannot starve it.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SharedExclusiveLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0
        self._shared_side = _SharedSide(self)

    def shared(self) -> _SharedSide:
        """The shared side, for a run (a plain context manager: every predict enters it, and a
        generator-based one cost a microsecond of a 10-microsecond run)."""
        return self._shared_side

    def _enter_shared(self) -> None:
        with self._cond:
            while self._exclusive or self._exclusive_waiting:
                self._cond.wait()
            self._shared += 1

    def _exit_shared(self) -> None:
        with self._cond:
            self._shared -= 1
            # only a waiting resize waits for the runs to drain (runs wait for a resize, which notifies)
            if self._shared == 0 and self._exclusive_waiting:
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._exclusive_waiting += 1
            try:
                while self._exclusive or self._shared:
                    self._cond.wait()
            finally:
                self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class _SharedSide:
    __slots__ = ("_lock",)

    def __init__(self, lock: SharedExclusiveLock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock._enter_shared()

    def __exit__(self, *exc: object) -> None:
        self._lock._exit_shared()
