"""Random generators: RandomUniform(Like), RandomNormal(Like), Bernoulli, Multinomial.

With a ``seed`` attribute each run draws from a fresh generator seeded with
it, so seeded nodes give the same values on every run; without one a
per-kernel generator seeded from OS entropy is used.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import onnx_dtype


class _Random(Kernel):
    kind: str  # "uniform" or "normal", set by each concrete kernel

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        seed = attrs.get("seed")
        self.seed = None if seed is None or np.isnan(seed) else int(seed)
        self._rng = np.random.default_rng()

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed) if self.seed is not None else self._rng

    def dtype(self, like=None):
        code = self.attrs.get("dtype")
        if code:
            return onnx_dtype(code)
        return like.dtype if like is not None else np.dtype(np.float32)


def _draw(kern: _Random, shape, dtype):
    rng = kern.rng()
    a = kern.attrs
    if kern.kind == "uniform":
        low, high = a.get("low", 0.0), a.get("high", 1.0)
        values = rng.random(shape, dtype=np.float64) * (high - low) + low
    else:
        values = rng.standard_normal(shape) * a.get("scale", 1.0) + a.get("mean", 0.0)
    return values.astype(dtype)


class _Shaped(_Random):
    kind = "uniform"

    def run(self):
        return (_draw(self, tuple(int(s) for s in self.attrs["shape"]), self.dtype()),)


class _Like(_Random):
    kind = "uniform"

    def run(self, x):
        return (_draw(self, x.shape, self.dtype(x)),)


for _kind in ("uniform", "normal"):
    _cap = _kind.capitalize()
    kernel(f"Random{_cap}")(type(f"Random{_cap}", (_Shaped,), {"kind": _kind}))
    kernel(f"Random{_cap}Like")(type(f"Random{_cap}Like", (_Like,), {"kind": _kind}))


@kernel("Bernoulli")
class Bernoulli(_Random):
    def run(self, x):
        draws = self.rng().random(x.shape) < x
        return (draws.astype(self.dtype(x)),)


@kernel("Multinomial")
class Multinomial(_Random):
    """Sample class indices from unnormalised log-probabilities ``[batch, classes]``."""

    def run(self, x):
        n = self.attrs.get("sample_size", 1)
        logits = x.astype(np.float64)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        cdf = np.cumsum(p, axis=1)
        cdf /= cdf[:, -1:]
        batch, classes = x.shape
        u = self.rng().random((batch, n))
        # One searchsorted over all rows: row b's CDF is shifted into (b, b + 1].
        shift = np.arange(batch)[:, None]
        idx = np.searchsorted((cdf + shift).reshape(-1), (u + shift).reshape(-1), side="right")
        idx = np.minimum(idx.reshape(batch, n) - shift * classes, classes - 1)
        code = self.attrs.get("dtype", 6)
        return (idx.astype(onnx_dtype(code, np.int32)),)
