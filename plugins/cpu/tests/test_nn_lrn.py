"""LRN against the ONNX formula evaluated directly in float64."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import litert_cpu.kernels  # noqa: E402,F401
from litert_cpu import threads  # noqa: E402
from litert_cpu.kernels._base import KernelContext  # noqa: E402
from litert_cpu.kernels._registry import KERNELS  # noqa: E402
from litert_cpu.kernels.nn import norm  # noqa: E402


def reference_lrn(x, size, alpha, beta, bias):
    x = x.astype(np.float64)
    c = x.shape[1]
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    y = np.empty_like(x)
    for ch in range(c):
        window = x[:, max(0, ch - lo):min(c, ch + hi + 1)]
        y[:, ch] = x[:, ch] / (bias + alpha / size * np.sum(window ** 2, axis=1)) ** beta
    return y


@pytest.mark.parametrize("shape,size,beta", [
    ((1, 16, 9, 9), 5, 0.75), ((2, 7, 5, 3), 4, 0.6), ((1, 3, 4), 3, 0.75),
    ((1, 5, 2, 3, 4), 2, 0.75), ((1, 1, 2, 2), 1, 0.75), ((3, 10, 8, 8), 6, 1.0),
])
@pytest.mark.parametrize("threads_", [1, 2])
def test_lrn(shape, size, beta, threads_, monkeypatch):
    monkeypatch.setattr(norm, "_LRN_PARALLEL", 0)  # cut even small inputs into tasks
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    attrs = {"size": size, "alpha": 1e-2, "beta": beta, "bias": 1.5}
    kernel = KERNELS[("", "LRN")](attrs, KernelContext("LRN", consts=[None]))
    with threads.limit(threads_):
        got = kernel.run(x)[0]
        again = kernel.run(x[:, ::-1].copy())[0]  # the scratch buffers are reused
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, reference_lrn(x, size, 1e-2, beta, 1.5), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again, reference_lrn(x[:, ::-1], size, 1e-2, beta, 1.5), rtol=1e-5, atol=1e-6)
