"""onnxruntime's quantised contrib operators (``com.microsoft``, QOperator format): QGemm, QLinearAdd,
QLinearMul, QLinearConcat, QLinearSigmoid, QLinearLeakyRelu, QLinear(Global)AveragePool, and
``quantize_dynamic``'s DynamicQuantizeLSTM.

Reference semantics, as onnxruntime documents them: dequantise ``(q - zero_point) * scale``, compute in
float, requantise (round half to even, add the output zero point, saturate).  QGemm accumulates exactly
in integers (its int32 bias has scale ``a_scale * b_scale``) and returns float when ``y_scale`` is absent.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from .pool import AveragePool
from .qlinear import _int_matmul
from .quant import int_range
from .rnn import LSTM

MS = "com.microsoft"


def dequantize(q: np.ndarray, scale, zero_point) -> np.ndarray:
    real = q.astype(np.float32)
    if zero_point is not None:
        real -= np.asarray(zero_point, np.float32)
    return real * np.asarray(scale, np.float32)


def requantize(real: np.ndarray, scale, zero_point, dtype: np.dtype) -> np.ndarray:
    q = np.rint(np.asarray(real, np.float64) / np.float64(np.asarray(scale).reshape(())))
    if zero_point is not None:
        q += np.asarray(zero_point, np.float64).reshape(())
    low, high = int_range(dtype)
    return np.clip(q, low, high).astype(dtype)


def _out_dtype(zero_point, fallback: np.ndarray) -> np.dtype:
    return zero_point.dtype if zero_point is not None else fallback.dtype


@kernel("QGemm", domain=MS)
class QGemm(Kernel):
    def run(self, a, a_scale, a_zero_point, b, b_scale, b_zero_point, c=None, y_scale=None, y_zero_point=None):
        if self.attrs.get("transA", 0):
            a = a.T
        bzp = np.asarray(b_zero_point)
        if self.attrs.get("transB", 0):
            b = b.T
        acc = _int_matmul(a, b, np.asarray(a_zero_point).reshape(()), bzp if bzp.size > 1 else bzp.reshape(()))
        if c is not None:
            acc = acc + c.astype(np.float64)
        real = acc * (np.float64(np.asarray(a_scale).reshape(())) * np.asarray(b_scale, np.float64).reshape(-1)
                      * self.attrs.get("alpha", 1.0))
        if y_scale is None:
            return (real.astype(np.float32),)
        return (requantize(real, y_scale, y_zero_point, _out_dtype(y_zero_point, a)),)


class _Binary(Kernel):
    operation = staticmethod(np.add)

    def run(self, a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point=None):
        real = self.operation(dequantize(a, a_scale, a_zero_point), dequantize(b, b_scale, b_zero_point))
        return (requantize(real, c_scale, c_zero_point, _out_dtype(c_zero_point, a)),)


@kernel("QLinearAdd", domain=MS)
class QLinearAdd(_Binary):
    operation = staticmethod(np.add)


@kernel("QLinearMul", domain=MS)
class QLinearMul(_Binary):
    operation = staticmethod(np.multiply)


class _Unary(Kernel):
    def real(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def run(self, x, x_scale, x_zero_point, y_scale, y_zero_point=None):
        real = self.real(dequantize(x, x_scale, x_zero_point))
        return (requantize(real, y_scale, y_zero_point, _out_dtype(y_zero_point, x)),)


@kernel("QLinearSigmoid", domain=MS)
class QLinearSigmoid(_Unary):
    def real(self, x):
        return 1.0 / (1.0 + np.exp(-x))


@kernel("QLinearLeakyRelu", domain=MS)
class QLinearLeakyRelu(_Unary):
    def real(self, x):
        return np.where(x >= 0, x, x * np.float32(self.attrs.get("alpha", 0.01)))


def _channels_first(x: np.ndarray, channels_last: bool) -> np.ndarray:
    return np.moveaxis(x, -1, 1) if channels_last else x


def _channels_back(x: np.ndarray, channels_last: bool) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if channels_last else x


@kernel("QLinearGlobalAveragePool", domain=MS)
class QLinearGlobalAveragePool(_Unary):
    def real(self, x):
        last = bool(self.attrs.get("channels_last", 0))
        x = _channels_first(x, last)
        return _channels_back(x.mean(axis=tuple(range(2, x.ndim)), keepdims=True), last)


@kernel("QLinearAveragePool", domain=MS)
class QLinearAveragePool(_Unary):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.pool = AveragePool({k: v for k, v in attrs.items() if k != "channels_last"}, ctx)

    def real(self, x):
        last = bool(self.attrs.get("channels_last", 0))
        return _channels_back(self.pool.run(np.ascontiguousarray(_channels_first(x, last)))[0], last)


@kernel("QLinearConcat", domain=MS)
class QLinearConcat(Kernel):
    def run(self, y_scale, y_zero_point, *triples):
        parts = [dequantize(triples[i], triples[i + 1], triples[i + 2]) for i in range(0, len(triples), 3)]
        real = np.concatenate(parts, axis=int(self.attrs["axis"]))
        return (requantize(real, y_scale, y_zero_point, _out_dtype(y_zero_point, triples[0])),)


@kernel("DynamicQuantizeLSTM", domain=MS)
class DynamicQuantizeLSTM(LSTM):
    """ONNX's LSTM over the dequantised weights.  onnxruntime also quantises the input and the hidden state
    of each step to uint8 on the fly; this kernel keeps them float, so it is the float LSTM of the stored
    int8 weights (closer to the float model than onnxruntime's own run, by the activation rounding)."""

    def run(self, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None, w_scale=None, w_zero_point=None,
            r_scale=None, r_zero_point=None):
        return super().run(x, _lstm_weight(w, w_scale, w_zero_point), _lstm_weight(r, r_scale, r_zero_point), b,
                           seq_lens, h0, c0, p)


def _lstm_weight(q: np.ndarray, scale, zero_point) -> np.ndarray:
    """[directions, rows, 4 x hidden] int8 with a scale per direction ([directions]) or per gate row
    ([directions, 4 x hidden]) -> ONNX's float [directions, 4 x hidden, rows]."""
    scale = np.asarray(scale, np.float32)
    zero = np.zeros_like(scale) if zero_point is None else np.asarray(zero_point, np.float32)
    if scale.ndim <= 1:
        scale, zero = scale.reshape(-1, 1, 1), zero.reshape(-1, 1, 1)
    else:
        scale, zero = scale[:, None, :], zero[:, None, :]
    return np.ascontiguousarray(((q.astype(np.float32) - zero) * scale).transpose(0, 2, 1))
