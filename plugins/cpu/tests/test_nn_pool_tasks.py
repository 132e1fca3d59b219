"""MaxPool/AveragePool cut into channel-block tasks give the serial result."""
from __future__ import annotations

import numpy as np
import pytest

import litert_cpu.kernels  # noqa: F401
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("n,c", [(1, 5), (3, 2)])
@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 1, 1]},
    {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "count_include_pad": 1},
    {"kernel_shape": [2, 3], "strides": [2, 1], "ceil_mode": 1},
])
def test_pool_tasks_match_serial(op, n, c, attrs, monkeypatch):
    from litert_cpu.kernels.nn import pool
    from litert_cpu.threads import limit

    full = {"auto_pad": "NOTSET", "ceil_mode": 0, "storage_order": 0, "count_include_pad": 0, **attrs}
    kern = KERNELS[("", op)](full, KernelContext(op))
    x = np.random.default_rng(3).standard_normal((n, c, 9, 10)).astype(np.float32)
    want = kern.run(x)[0]
    monkeypatch.setattr(pool, "_PARALLEL_ELEMENTS", 0)
    with limit(2):
        for _ in range(2):
            got = kern.run(x)[0]
            np.testing.assert_array_equal(got, want)
