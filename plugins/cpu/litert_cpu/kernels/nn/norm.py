"""Normalisations: BatchNormalization, InstanceNormalization,
GroupNormalization, LayerNormalization, RMSNormalization, LpNormalization,
MeanVarianceNormalization and LRN.

Statistics are computed in float32 for float16/bfloat16 inputs (the ONNX
``stash_type``) and in the input precision otherwise.
"""
from __future__ import annotations

import numpy as np

from ...threads import current_threads, parallel_for, split
from .._base import Kernel
from .._registry import kernel
from ._common import SCRATCH, compute_dtype

#: LRN inputs with more elements than this are cut into spatial blocks run as tasks
_LRN_PARALLEL = 1 << 17


def _channel_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """A per-channel vector shaped to broadcast against ``(N, C, ...)``."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _moments(x: np.ndarray, axes: tuple[int, ...]):
    """(x - mean, mean, variance) over ``axes`` (keepdims), population variance."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    nd = x.ndim
    if axes == tuple(range(nd - len(axes), nd)) and d.size:
        # trailing axes: sum of squares as a dot product, no squared temporary
        lead = d.shape[: nd - len(axes)]
        flat = d.reshape(lead + (-1,))
        var = np.einsum("...i,...i->...", flat, flat).reshape(mean.shape)
        var /= var.dtype.type(flat.shape[-1])
    else:
        var = np.square(d).mean(axis=axes, keepdims=True)
    return d, mean, var


@kernel("BatchNormalization")
class BatchNormalization(Kernel):
    """Inference: ``x * a + b`` with per-channel ``a, b`` folded (once, when the
    statistics are constant).  Training mode also returns running stats."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.eps = float(attrs.get("epsilon", 1e-5))
        self.momentum = float(attrs.get("momentum", 0.9))
        # before opset 14, asking for the running statistics meant training
        self.training = bool(attrs.get("training_mode", 0)) or ctx.num_outputs > 1
        consts = [ctx.const(i) for i in range(1, 5)]
        self._ab = None
        if not self.training and all(c is not None for c in consts):
            self._ab = self._fold(*consts)

    def _fold(self, scale, bias, mean, var):
        cdt = compute_dtype(scale.dtype)
        a = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + self.eps)
        b = bias.astype(np.float64) - mean.astype(np.float64) * a
        return a.astype(cdt), b.astype(cdt)

    inplace = (0,)

    def run(self, x, scale, bias, mean, var, out=None):
        cdt = compute_dtype(x.dtype)
        if self.training:
            return self._train(x, scale, bias, mean, var)
        a, b = self._ab if self._ab is not None else self._fold(scale, bias, mean, var)
        if out is not None and out.dtype != cdt:
            out = None
        y = np.multiply(x, _channel_view(a, x.ndim), dtype=cdt, out=out)
        y += _channel_view(b, x.ndim)
        return (y.astype(x.dtype, copy=False),)

    def _train(self, x, scale, bias, mean, var):
        cdt = compute_dtype(x.dtype)
        xf = x.astype(cdt, copy=False)
        axes = (0,) + tuple(range(2, x.ndim))
        d, bmean, bvar = _moments(xf, axes)
        inv = 1.0 / np.sqrt(bvar + self.eps)
        y = d * inv * _channel_view(scale, x.ndim) + _channel_view(bias, x.ndim)
        m = self.momentum
        run_mean = mean * m + bmean.reshape(-1) * (1 - m)
        run_var = var * m + bvar.reshape(-1) * (1 - m)
        outs = (y.astype(x.dtype), run_mean.astype(mean.dtype), run_var.astype(var.dtype),
                bmean.reshape(-1).astype(mean.dtype), inv.reshape(-1).astype(var.dtype))
        return outs[: max(1, self.ctx.num_outputs)]


def _normalize(x, axes, eps, cdt):
    xf = x.astype(cdt, copy=False)
    d, mean, var = _moments(xf, axes)
    var += cdt.type(eps)
    inv = np.sqrt(var, out=var)
    np.reciprocal(inv, out=inv)
    d *= inv
    return d, mean, inv


@kernel("InstanceNormalization")
class InstanceNormalization(Kernel):
    def run(self, x, scale, bias):
        cdt = compute_dtype(x.dtype)
        xf = x.astype(cdt, copy=False)
        y, _, var = _moments(xf, tuple(range(2, x.ndim)))
        var += cdt.type(self.attrs.get("epsilon", 1e-5))
        # fold the per-channel scale into the per-(n, c) inverse deviation
        factor = _channel_view(scale.astype(cdt, copy=False), x.ndim) / np.sqrt(var)
        y *= factor
        y += _channel_view(bias.astype(cdt, copy=False), x.ndim)
        return (y.astype(x.dtype, copy=False),)


@kernel("GroupNormalization")
class GroupNormalization(Kernel):
    """Scale/bias are per channel (opset 21); per-group vectors of the opset-18
    form (length num_groups != C) are expanded."""

    def run(self, x, scale, bias):
        cdt = compute_dtype(x.dtype)
        g = int(self.attrs["num_groups"])
        n, c = x.shape[:2]
        xg = x.reshape((n, g, -1))
        y, _, _ = _normalize(xg, (2,), self.attrs.get("epsilon", 1e-5), cdt)
        y = y.reshape(x.shape)
        if scale.shape[0] != c:
            scale = np.repeat(scale, c // g)
            bias = np.repeat(bias, c // g)
        y *= _channel_view(scale.astype(cdt, copy=False), x.ndim)
        y += _channel_view(bias.astype(cdt, copy=False), x.ndim)
        return (y.astype(x.dtype, copy=False),)


@kernel("LayerNormalization")
class LayerNormalization(Kernel):
    def run(self, x, scale, bias=None):
        cdt = compute_dtype(x.dtype)
        axis = self.attrs.get("axis", -1)
        axis = axis + x.ndim if axis < 0 else axis
        y, mean, inv = _normalize(x, tuple(range(axis, x.ndim)), self.attrs.get("epsilon", 1e-5), cdt)
        y *= scale.astype(cdt, copy=False)
        if bias is not None:
            y += bias.astype(cdt, copy=False)
        outs = [y.astype(x.dtype, copy=False)]
        if self.ctx.num_outputs > 1:
            sdt = _stash_dtype(self.attrs, x.dtype)
            outs += [mean.astype(sdt), inv.astype(sdt)]
        return tuple(outs[: max(1, self.ctx.num_outputs)])


def _stash_dtype(attrs, xdtype):
    return np.dtype(np.float32) if attrs.get("stash_type", 1) == 1 else np.dtype(xdtype)


@kernel("RMSNormalization")
class RMSNormalization(Kernel):
    def run(self, x, scale):
        cdt = compute_dtype(x.dtype)
        axis = self.attrs.get("axis", -1)
        axis = axis + x.ndim if axis < 0 else axis
        xf = x.astype(cdt, copy=False)
        ms = np.square(xf).mean(axis=tuple(range(axis, x.ndim)), keepdims=True)
        ms += cdt.type(self.attrs.get("epsilon", 1e-5))
        np.sqrt(ms, out=ms)
        y = xf / ms
        y *= scale.astype(cdt, copy=False)
        return (y.astype(x.dtype, copy=False),)


@kernel("LpNormalization")
class LpNormalization(Kernel):
    def run(self, x):
        axis = self.attrs.get("axis", -1)
        p = self.attrs.get("p", 2)
        xf = x.astype(compute_dtype(x.dtype), copy=False)
        if p == 1:
            norm = np.abs(xf).sum(axis=axis, keepdims=True)
        else:
            norm = np.sqrt(np.square(xf).sum(axis=axis, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(norm == 0, 0, xf / norm)
        return (y.astype(x.dtype, copy=False),)


@kernel("MeanVarianceNormalization")
class MeanVarianceNormalization(Kernel):
    def run(self, x):
        axes = tuple(int(a) for a in self.attrs.get("axes", (0, 2, 3)))
        cdt = compute_dtype(x.dtype)
        d, _, var = _moments(x.astype(cdt, copy=False), axes)
        d /= np.sqrt(var) + cdt.type(1e-9)
        return (d.astype(x.dtype, copy=False),)


@kernel("LRN")
class LRN(Kernel):
    """Cross-channel local response normalisation.

    The squares go into a buffer padded with ``size - 1`` zero channels, so
    every window sum is ``size`` adds of contiguous channel slices (a
    cumulative sum needed two gathers and was 3x slower).  ``beta = 0.75``
    takes ``sqrt(s) * sqrt(sqrt(s))`` instead of ``pow``.  The spatial
    positions are cut into blocks run as tasks (channels are not: windows
    cross them)."""

    def run(self, x):
        size = int(self.attrs["size"])
        alpha = float(self.attrs.get("alpha", 1e-4))
        beta = float(self.attrs.get("beta", 0.75))
        bias = float(self.attrs.get("bias", 1.0))
        cdt = compute_dtype(x.dtype)
        n, c = x.shape[:2]
        xf = np.ascontiguousarray(x, dtype=cdt).reshape(n, c, -1)
        y = np.empty_like(xf)
        lo = (size - 1) // 2
        spatial = xf.shape[2]
        threads = current_threads()
        count = threads if threads > 1 and xf.size >= _LRN_PARALLEL else 1
        blocks = split(spatial, count)
        scale, shift = cdt.type(alpha / size), cdt.type(bias)

        def task(t: int) -> None:
            a, b = blocks[t]
            xs = xf[:, :, a:b]
            padded, _ = SCRATCH.get("lrn_sq", (n, c + size - 1, b - a), cdt)
            padded[:, :lo] = 0
            padded[:, lo + c:] = 0
            np.square(xs, out=padded[:, lo:lo + c])
            s, _ = SCRATCH.get("lrn_sum", (n, c, b - a), cdt)
            np.copyto(s, padded[:, :c])
            for j in range(1, size):
                s += padded[:, j:j + c]
            s *= scale
            s += shift
            if beta == 0.75:
                r, _ = SCRATCH.get("lrn_root", (n, c, b - a), cdt)
                np.sqrt(s, out=r)
                np.sqrt(r, out=s)
                s *= r
            else:
                np.power(s, cdt.type(beta), out=s)
            np.divide(xs, s, out=y[:, :, a:b])

        parallel_for(len(blocks), task)
        return (y.reshape(x.shape).astype(x.dtype, copy=False),)
