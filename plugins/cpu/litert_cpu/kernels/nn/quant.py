"""QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked;
integer, int4/uint4/int2/uint2, float8/float6/float4 via ml_dtypes) and
DynamicQuantizeLinear.  Arithmetic mirrors the ONNX reference: divide in the
input precision, round half to even, add the zero point, saturate."""
from __future__ import annotations

import functools

import numpy as np

from litert.ir.dtypes import numpy_dtype

from .._base import Kernel
from .._registry import kernel

#: ONNX's float6 codes, which the IR has no element type for (yet): only quantisation produces them
_FLOAT6_CODES = {27: "float6_e2m3fn", 28: "float6_e3m2fn"}


@functools.cache
def _ml_dtypes_kinds() -> dict[np.dtype, str]:
    import ml_dtypes  # ~6 ms: imported once a model has such a type (see _kind)

    kinds = {np.dtype(getattr(ml_dtypes, name)): kind for kind, names in (
        ("float8", ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz")),
        ("small_float", ("float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn")),
        ("subbyte_int", ("int4", "uint4", "int2", "uint2"))) for name in names}
    return kinds


def _kind(dtype: np.dtype) -> str:
    """``"float8"``, ``"small_float"`` or ``"subbyte_int"`` for those types of ml_dtypes, ``""`` for others.

    ml_dtypes registers its types with numpy as user-defined dtypes, numbered from ``NPY_USERDEF`` (256) up:
    numpy's own dtypes answer without importing it (its import was ~6 ms of an int8 model's first load)."""
    return _ml_dtypes_kinds().get(dtype, "") if dtype.num >= 256 else ""


def onnx_dtype(code) -> np.dtype:
    """The numpy dtype of an ``output_dtype`` / ``precision`` attribute (an ONNX ``TensorProto.DataType``)."""
    code = int(code)
    if code in _FLOAT6_CODES:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, _FLOAT6_CODES[code]))
    return numpy_dtype(code)


def broadcast_param(value: np.ndarray, shape, axis: int, block_size: int = 0) -> np.ndarray:
    """Shape a scale / zero point to broadcast against ``shape`` (per-tensor,
    per-axis along ``axis``, or blocks of ``block_size`` along ``axis``)."""
    if value.ndim == 0:
        return value
    if value.size == 1:
        return value.reshape(())
    axis = axis + len(shape) if axis < 0 else axis
    if not block_size:
        dims = [1] * len(shape)
        dims[axis] = value.size
        return value.reshape(dims)
    value = np.repeat(value, block_size, axis=axis)
    if value.shape[axis] != shape[axis]:
        value = value.take(np.arange(shape[axis]), axis=axis)
    return value


def int_range(dtype: np.dtype) -> tuple[int, int]:
    if _kind(dtype) == "subbyte_int":
        import ml_dtypes

        sub = ml_dtypes.iinfo(dtype)
        return int(sub.min), int(sub.max)
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


class _LinearQuantization(Kernel):
    """What QuantizeLinear and DequantizeLinear share: a scale and zero point per tensor, along ``axis``, or in
    blocks of ``block_size`` along it."""

    def along_axis(self, value: np.ndarray, shape) -> np.ndarray:
        return broadcast_param(value, shape, int(self.attrs.get("axis", 1)), int(self.attrs.get("block_size", 0) or 0))


@kernel("QuantizeLinear")
class QuantizeLinear(_LinearQuantization):
    def run(self, x, y_scale, y_zero_point=None):
        a = self.attrs
        if y_zero_point is not None:
            out_dt = y_zero_point.dtype
        elif a.get("output_dtype"):
            out_dt = onnx_dtype(a["output_dtype"])
        else:
            out_dt = np.dtype(np.uint8)
        scale = self.along_axis(y_scale, x.shape)
        zp = None if y_zero_point is None else self.along_axis(y_zero_point, x.shape)
        prec = a.get("precision")
        if prec:
            pdt = onnx_dtype(prec)
            q = x.astype(pdt) / scale.astype(pdt)
        else:
            q = x / scale
        kind = _kind(out_dt)
        if kind == "float8":
            if a.get("saturate", 1):
                import ml_dtypes

                info = ml_dtypes.finfo(out_dt)
                q = np.clip(q, float(info.min), float(info.max))
            return (q.astype(out_dt),)
        if kind == "small_float":
            if zp is not None:
                q = q + zp.astype(np.float32)
            return (q.astype(out_dt),)
        qi = np.rint(q).astype(np.int32)
        if zp is not None:
            qi += zp.astype(np.int32)
        lo, hi = int_range(out_dt)
        return (np.clip(qi, lo, hi).astype(out_dt),)


@kernel("DequantizeLinear")
class DequantizeLinear(_LinearQuantization):
    def run(self, x, x_scale, x_zero_point=None):
        a = self.attrs
        floaty = _kind(x.dtype) in ("float8", "small_float")
        dx = x.astype(np.float32)
        if x_zero_point is not None and not floaty:
            dx = dx - self.along_axis(x_zero_point, x.shape).astype(np.float32)
        y = dx * self.along_axis(x_scale, x.shape)
        out_dt = onnx_dtype(a["output_dtype"]) if a.get("output_dtype") else x_scale.dtype
        return (np.asarray(y).astype(out_dt),)


@kernel("DynamicQuantizeLinear")
class DynamicQuantizeLinear(Kernel):
    """uint8 quantisation with scale/zero point from the data range (incl. 0)."""

    def run(self, x):
        maxx = np.float32(max(0.0, float(np.max(x)))) if x.size else np.float32(0)
        minx = np.float32(min(0.0, float(np.min(x)))) if x.size else np.float32(0)
        scale = np.float32(1.0 if maxx == minx else (maxx - minx)) / np.float32(255)
        zp = np.rint(np.clip(np.float32(0) - minx / scale, 0, 255))
        y = np.clip(np.rint(x / scale) + zp, 0, 255).astype(np.uint8)
        return y, np.asarray(scale, dtype=x.dtype), np.asarray(zp, dtype=np.uint8)
