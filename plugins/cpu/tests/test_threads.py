"""litert_cpu.threads: the task pool and the idle keepers' life cycle."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from litert_cpu import threads  # noqa: E402

keepers = pytest.mark.skipif(threads._KEEPERS is None, reason="no pthread spinlocks / SCHED_IDLE here")


def test_parallel_for_runs_every_task_once_and_reraises():
    seen = []
    with threads.limit(2):
        threads.parallel_for(7, seen.append)
        assert sorted(seen) == list(range(7))

        def boom(i):
            if i == 3:
                raise ValueError("task 3")

        with pytest.raises(ValueError, match="task 3"):
            threads.parallel_for(5, boom)


def _idle_threads() -> int:
    """Threads of this process running at SCHED_IDLE (the keepers)."""
    count = 0
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            count += os.sched_getscheduler(int(tid)) == os.SCHED_IDLE
        except OSError:  # exited meanwhile
            pass
    return count


@keepers
def test_keepers_spin_at_idle_priority_inside_a_run():
    k = threads._KEEPERS
    with threads.limit(2):
        assert k.running.locked()
        assert _idle_threads() >= 1  # pthread_create and the policy change are synchronous
        with threads.limit(2):  # nested: the outer run keeps
            pass
        assert k.running.locked()
    assert not k.running.locked()
    with threads.limit(1):  # single-threaded runs do not keep
        assert not k.running.locked()


@keepers
def test_concurrent_runs_share_the_keepers_without_deadlock():
    errors = []

    def run():
        try:
            for _ in range(50):
                with threads.limit(2):
                    threads.parallel_for(4, lambda i: np.dot(np.ones((64, 64)), np.ones((64, 64))))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    workers = [threading.Thread(target=run) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a run hung"
    assert not errors
    assert not threads._KEEPERS.running.locked()


@keepers
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_child_forked_during_a_run_gets_fresh_keepers():
    """The keepers' lock is held while a run is in progress; a child forked
    then (here by another thread) can still keep its own runs."""
    import time

    result = {}

    def fork_and_run():
        pid = os.fork()
        if pid == 0:  # child: only this thread exists
            try:
                with threads.limit(2):
                    threads.parallel_for(2, lambda i: None)
                    kept = _idle_threads() >= 1
                os._exit(0 if kept and not threads._KEEPERS.running.locked() else 2)
            except BaseException:
                os._exit(1)
        result["pid"] = pid

    with threads.limit(2):
        forker = threading.Thread(target=fork_and_run)
        forker.start()
        forker.join()
    pid = result["pid"]
    start = time.monotonic()
    while time.monotonic() - start < 30:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the child ran without keepers"
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the forked child hung in limit()")


@keepers
def test_keepers_give_up_where_idle_priority_is_refused():
    """A keeper left at normal priority would compete with the run: where
    SCHED_IDLE is refused the keepers release themselves and stay off."""
    import time

    real = threads._KEEPERS.libc

    class Refusing:
        def __getattr__(self, name):
            if name == "pthread_setschedparam":
                return lambda *args: 1  # EPERM
            return getattr(real, name)

    keepers = threads._IdleKeepers(Refusing())
    before = len(os.listdir(f"/proc/{os.getpid()}/task"))
    assert keepers.start()
    assert keepers.disabled
    keepers.end()
    assert not keepers.start()  # stays off
    deadline = time.monotonic() + 5
    while len(os.listdir(f"/proc/{os.getpid()}/task")) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(os.listdir(f"/proc/{os.getpid()}/task")) <= before, "a normal-priority keeper kept spinning"
