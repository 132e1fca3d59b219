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


def _windowed(x, op, include_pad):
    """3x3, stride 1, pad 1 by direct loops over the windows (float64)."""
    n, c, h, w = x.shape
    y = np.empty((n, c, h, w), np.float64)
    for i in range(h):
        for j in range(w):
            win = x[:, :, max(0, i - 1):i + 2, max(0, j - 1):j + 2].astype(np.float64)
            if op == "MaxPool":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                y[:, :, i, j] = win.sum(axis=(2, 3)) / (9 if include_pad else win.shape[2] * win.shape[3])
    return y


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 3, 2, 2), (1, 4, 14, 14), (3, 2, 5, 2)])
@pytest.mark.parametrize("include_pad", [0, 1])
@pytest.mark.parametrize("threads", [1, 2])
def test_same_3x3_pools_on_flat_images(op, shape, include_pad, threads, monkeypatch):
    """The 3x3 / stride 1 / pad 1 fast path (flattened images, row ends
    redone) against direct window loops; also with int8 for MaxPool."""
    from litert_cpu.kernels.nn import pool
    from litert_cpu.threads import limit

    attrs = {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "auto_pad": "NOTSET",
             "ceil_mode": 0, "storage_order": 0, "count_include_pad": include_pad}
    kern = KERNELS[("", op)](attrs, KernelContext(op))
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32) * 10
    assert kern.same3(x.shape)
    monkeypatch.setattr(pool, "_PARALLEL_ELEMENTS", 0)
    with limit(threads):
        for _ in range(2):
            np.testing.assert_allclose(kern.run(x)[0], _windowed(x, op, include_pad), rtol=1e-6, atol=1e-5)
        if op == "MaxPool":
            xi = x.astype(np.int8)
            got = kern.run(xi)[0]
            assert got.dtype == np.int8
            np.testing.assert_array_equal(got, _windowed(xi, op, include_pad).astype(np.int8))
