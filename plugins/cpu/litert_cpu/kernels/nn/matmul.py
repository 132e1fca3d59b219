"""MatMul, Gemm and their com.microsoft fused forms (FusedMatMul, FusedGemm).

Constant right-hand operands are packed once (transposed, alpha folded in,
widened to the compute dtype).  float16/bfloat16 products run in float32
through BLAS and are cast back.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import activation, compute_dtype
from ._gemm import matmul as gemm_matmul


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul`` that folds a stacked left operand into one big GEMM when
    the right operand is a plain matrix; big products run as parallel tasks."""
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous:
        return gemm_matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + (b.shape[1],))
    return gemm_matmul(a, b)


def _is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f" or compute_dtype(dtype) != np.dtype(dtype)


@kernel("MatMul")
class MatMul(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        b = ctx.const(1)
        self._b = None if b is None else np.ascontiguousarray(b, dtype=compute_dtype(b.dtype))

    def run(self, a, b):
        cdt = compute_dtype(a.dtype)
        bb = self._b if self._b is not None else b.astype(cdt, copy=False)
        y = matmul(a.astype(cdt, copy=False), bb)
        return (np.asarray(y).astype(a.dtype, copy=False),)


def _batch_transpose(x: np.ndarray, trans_batch: bool, trans: bool) -> np.ndarray:
    if x.ndim < 2:
        return x
    perm = list(range(x.ndim))
    if trans_batch and x.ndim > 2:
        perm = list(range(1, x.ndim - 1)) + [0, x.ndim - 1]
    if trans:
        perm[-1], perm[-2] = perm[-2], perm[-1]
    return x.transpose(perm) if perm != list(range(x.ndim)) else x


def _scale_and_transposes(attrs) -> tuple[float, bool, bool]:
    """``alpha``, ``transA`` and ``transB``: how Gemm and FusedMatMul scale and transpose their product."""
    return float(attrs.get("alpha", 1.0)), bool(attrs.get("transA", 0)), bool(attrs.get("transB", 0))


@kernel("FusedMatMul", domain="com.microsoft")
class FusedMatMul(Kernel):
    """``alpha * op(A) @ op(B)``; transBatch moves dim 0 next to the matrix dims
    (onnxruntime semantics)."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.alpha, self.ta, self.tb = _scale_and_transposes(attrs)
        self.tba = bool(attrs.get("transBatchA", 0))
        self.tbb = bool(attrs.get("transBatchB", 0))
        b = ctx.const(1)
        self._b = None
        if b is not None:
            cdt = compute_dtype(b.dtype)
            bb = _batch_transpose(b, self.tbb, self.tb).astype(cdt)
            if self.alpha != 1.0:
                bb *= cdt.type(self.alpha)
            self._b = np.ascontiguousarray(bb)

    def run(self, a, b):
        cdt = compute_dtype(a.dtype)
        aa = _batch_transpose(a.astype(cdt, copy=False), self.tba, self.ta)
        if self._b is not None:
            y = matmul(aa, self._b)
        else:
            y = matmul(aa, _batch_transpose(b.astype(cdt, copy=False), self.tbb, self.tb))
            if self.alpha != 1.0:
                y *= cdt.type(self.alpha)
        return (np.asarray(y).astype(a.dtype, copy=False),)


@kernel("Gemm")
class Gemm(Kernel):
    """``alpha * A' @ B' + beta * C`` with optional fused activation.

    A constant ``B`` is kept as given (a transposed view when transB): BLAS
    reads transposed operands natively, and copying a large fully-connected
    weight (400 MB in VGG-19) costs more at load time than it could save.
    ``alpha`` is applied to the (small) product rather than to ``B``."""

    act_name: str | None = None
    act_params: tuple = ()

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.alpha, self.ta, self.tb = _scale_and_transposes(attrs)
        self.beta = float(attrs.get("beta", 1.0))
        self.act = activation(self.act_name, self.act_params)
        b, c = ctx.const(1), ctx.const(2)
        self._b = self._c = None
        if b is not None:
            self._b = (b.T if self.tb else b).astype(compute_dtype(b.dtype), copy=False)
        if c is not None:
            cdt = compute_dtype(c.dtype)
            cc = c.astype(cdt)
            if self.beta != 1.0:
                cc = (cc * self.beta).astype(cdt)
            self._c = cc

    def run(self, a, b, c=None):
        cdt = compute_dtype(a.dtype)
        aa = a.astype(cdt, copy=False)
        if self.ta:
            aa = aa.T
        bb = self._b if self._b is not None else (b.T if self.tb else b).astype(cdt, copy=False)
        y = gemm_matmul(aa, bb)
        if self.alpha != 1.0:
            if _is_float(cdt):
                y *= cdt.type(self.alpha)
            else:
                y = (y * self.alpha).astype(cdt)
        if self._c is not None:
            y += self._c
        elif c is not None:
            cc = c.astype(cdt, copy=False)
            if self.beta != 1.0:
                cc = (cc * self.beta).astype(cdt, copy=False)
            y += cc
        if self.act is not None:
            self.act(y)
        return (y.astype(a.dtype, copy=False),)


@kernel("FusedGemm", domain="com.microsoft")
class FusedGemm(Gemm):
    def __init__(self, attrs, ctx):
        self.act_name = attrs.get("activation") or None
        params = []
        for name in ("activation_alpha", "activation_beta", "activation_gamma"):
            if name not in attrs:
                break
            params.append(float(attrs[name]))
        self.act_params = tuple(params)
        super().__init__(attrs, ctx)
