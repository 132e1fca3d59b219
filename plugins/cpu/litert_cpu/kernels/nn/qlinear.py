"""Integer and quantised linear ops: ConvInteger, MatMulInteger, QLinearConv,
QLinearMatMul.

Zero points are removed first; the integer products then run as float64
BLAS GEMMs (exact for 8-bit operands) and are cast back to int32.
Requantisation follows the reference: scale in floating point, round half to
even, add the output zero point, saturate.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from .conv import ConvCore
from .quant import int_range


def _centered(x: np.ndarray, zp, axis_len_shape=None) -> np.ndarray:
    xf = x.astype(np.float64)
    if zp is not None:
        xf -= np.asarray(zp, np.float64) if axis_len_shape is None else np.asarray(zp, np.float64).reshape(axis_len_shape)
    return xf


def _weight_centered(w: np.ndarray, zp) -> np.ndarray:
    """Subtract a scalar or per-output-channel weight zero point."""
    if zp is None:
        return w.astype(np.float64)
    zp = np.asarray(zp)
    if zp.ndim == 1 and zp.size == w.shape[0] and zp.size > 1:
        return _centered(w, zp, (-1,) + (1,) * (w.ndim - 1))
    return _centered(w, zp.reshape(()) if zp.size == 1 else zp)


class _IntConv(Kernel):
    w_index = 1
    wzp_index = 3

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self._w, self._wzp = ctx.const(self.w_index), ctx.const(self.wzp_index)
        # pre-pack only when the weight zero point is known now (constant or no input)
        self._prepack = self._w is not None and (self._wzp is not None or len(ctx.consts) <= self.wzp_index)
        self._core: ConvCore | None = None

    @property
    def core(self) -> ConvCore:
        """Built on first use, not at compile time: the centred weights are float64, eight bytes per int8
        weight, and a kernel compiled but never run (the symbolic-batch fallback partition of a model whose
        runs all take native segments) then never holds them.  Two threads racing here build equal cores."""
        if self._core is None:
            wc = _weight_centered(self._w, self._wzp) if self._prepack else None
            self._core = ConvCore(self.attrs, wc, dtype=np.float64)
        return self._core

    def conv(self, x, xzp, w, wzp):
        xc = _centered(x, None if xzp is None else np.asarray(xzp).reshape(()))
        wc = w if self.core._packed is not None else _weight_centered(w, wzp)
        return self.core(xc, wc, np.dtype(np.float64))


@kernel("ConvInteger")
class ConvInteger(_IntConv):
    def run(self, x, w, x_zero_point=None, w_zero_point=None):
        return (np.rint(self.conv(x, x_zero_point, w, w_zero_point)).astype(np.int32),)


def _native_conv2d(x: np.ndarray, xzp, w: np.ndarray, wzp, attrs) -> np.ndarray | None:
    """A 2-D, ungrouped integer convolution as im2col (padding with the input zero point, so padded taps
    contribute nothing) + the native int8 GEMM; None when it does not apply."""
    from numpy.lib.stride_tricks import sliding_window_view

    if x.ndim != 4 or w.ndim != 4 or w.dtype != np.int8 or x.dtype not in (np.uint8, np.int8) \
            or attrs.get("group", 1) != 1 or attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return None
    if xzp is not None and np.size(xzp) != 1:
        return None
    n, c, _, _ = x.shape
    m, cw, kh, kw = w.shape
    if cw != c:
        return None
    pads = [0, 0, 0, 0] if attrs.get("auto_pad") == "VALID" else list(attrs.get("pads") or [0, 0, 0, 0])
    sh, sw = attrs.get("strides") or [1, 1]
    dh, dw = attrs.get("dilations") or [1, 1]
    zero = 0 if xzp is None else np.asarray(xzp).reshape(())
    padded = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=zero)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if padded.shape[2] < span_h or padded.shape[3] < span_w:
        return None
    windows = sliding_window_view(padded, (span_h, span_w), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    oh, ow = windows.shape[2], windows.shape[3]
    cols = np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n, oh * ow, c * kh * kw)
    weights = np.ascontiguousarray(w.reshape(m, -1).T)
    out = np.empty((n, m, oh, ow), np.int32)
    for image in range(n):
        product = _native_int_matmul(cols[image], weights, xzp, wzp)
        if product is None:
            return None
        out[image] = product.T.reshape(m, oh, ow)
    return out


@kernel("QLinearConv")
class QLinearConv(_IntConv):
    w_index = 3
    wzp_index = 5

    def run(self, x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, b=None):
        native = _native_conv2d(x, x_zero_point, w, w_zero_point, self.attrs)
        acc = native.astype(np.float64) if native is not None else self.conv(x, x_zero_point, w, w_zero_point)
        if b is not None:
            acc += b.astype(np.float64).reshape((1, -1) + (1,) * (acc.ndim - 2))
        ws = np.asarray(w_scale)
        if ws.size > 1:
            ws = ws.reshape((1, -1) + (1,) * (acc.ndim - 2))
        r = acc * (x_scale * ws / y_scale)
        out_dt = y_zero_point.dtype if y_zero_point is not None else x.dtype
        if y_zero_point is not None:
            r += y_zero_point
        lo, hi = int_range(out_dt)
        return (np.round(np.clip(r, lo, hi)).astype(out_dt),)


def _native_int_matmul(a, b, azp, bzp) -> np.ndarray | None:
    """2-D uint8/int8 x int8 on the native int8 GEMM (AVX512-VNNI or its C fallback); None when it does not apply.

    int8 activations become uint8 with the zero point moved by 128: ``(a + 128) - (azp + 128) == a - azp``."""
    from ...native import module

    lib = module()
    if lib is None or not hasattr(lib, "qgemm_u8s8") or a.ndim != 2 or b.ndim != 2 or b.dtype != np.int8 \
            or a.dtype not in (np.uint8, np.int8):
        return None
    azp = 0 if azp is None else np.asarray(azp)
    if np.ndim(azp) != 0 and np.size(azp) != 1:
        return None  # per-row activation zero points
    zero = int(np.asarray(azp).reshape(()))
    if a.dtype == np.int8:
        a, zero = a.view(np.uint8) ^ np.uint8(0x80), zero + 128
    m, k = a.shape
    n = b.shape[1]
    b_zero = None
    if bzp is not None:
        bzp = np.asarray(bzp)
        if bzp.size not in (1, n):
            return None
        if np.any(bzp != 0):
            b_zero = np.ascontiguousarray(np.broadcast_to(bzp.reshape(-1), (n,)), dtype=np.int32)
    c = np.empty((m, n), np.int32)
    lib.qgemm_u8s8(np.ascontiguousarray(a), np.ascontiguousarray(b), c, m, n, k, zero, b_zero, False)
    return c


def _int_matmul(a, b, azp, bzp):
    native = _native_int_matmul(a, b, azp, bzp)
    if native is not None:
        return native.astype(np.float64)
    af = a.astype(np.float64)
    if azp is not None:
        azp = np.asarray(azp, np.float64)
        if azp.ndim >= 1 and azp.size > 1 and a.ndim >= 2 and azp.shape[-1] == a.shape[-2]:
            azp = azp[..., None]  # per-row zero point
        af -= azp
    bf = b.astype(np.float64)
    if bzp is not None:
        bf -= np.asarray(bzp, np.float64)
    return np.matmul(af, bf)


@kernel("MatMulInteger")
class MatMulInteger(Kernel):
    def run(self, a, b, a_zero_point=None, b_zero_point=None):
        return (np.rint(_int_matmul(a, b, a_zero_point, b_zero_point)).astype(np.int32),)


@kernel("QLinearMatMul")
class QLinearMatMul(Kernel):
    def run(self, a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point):
        if a.dtype.kind in "iu":
            c = _int_matmul(a, b, a_zero_point, b_zero_point)
        else:  # float8 operands: dequantise directly
            c = np.matmul(a.astype(np.float64), b.astype(np.float64))
        d = c * (a_scale.astype(np.float64) * b_scale.astype(np.float64) / y_scale.astype(np.float64))
        out_dt = y_zero_point.dtype if y_zero_point is not None else a.dtype
        if out_dt.kind not in "iu":
            return (d.astype(out_dt),)
        if y_zero_point is not None:
            d += y_zero_point
        lo, hi = int_range(out_dt)
        return (np.clip(np.rint(d), lo, hi).astype(out_dt),)
