"""litert_cpu.threads: the task pool of the numpy kernels."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from litert_cpu import threads  # noqa: E402


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
