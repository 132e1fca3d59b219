"""Helpers shared by the tensor-family kernels."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ml_dtypes
import numpy as np

# ONNX TensorProto.DataType enum -> numpy dtype (for ``dtype`` / ``to`` style attributes).
ONNX_DTYPES: dict[int, Any] = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    8: object,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
    14: np.complex64,
    15: np.complex128,
    16: ml_dtypes.bfloat16,
    17: ml_dtypes.float8_e4m3fn,
    18: ml_dtypes.float8_e4m3fnuz,
    19: ml_dtypes.float8_e5m2,
    20: ml_dtypes.float8_e5m2fnuz,
    21: ml_dtypes.uint4,
    22: ml_dtypes.int4,
    23: ml_dtypes.float4_e2m1fn,
}


def onnx_dtype(code: int, default: Any = np.float32) -> np.dtype:
    """The numpy dtype for an ONNX data-type code (``0`` / ``None`` -> ``default``)."""
    if not code:
        return np.dtype(default)
    return np.dtype(ONNX_DTYPES[int(code)])


def int_list(value: Any) -> list[int] | None:
    """A 1-D integer tensor / list attribute as a Python list (``None`` stays ``None``)."""
    if value is None:
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def norm_axis(axis: int, rank: int) -> int:
    """Map a possibly negative axis into ``[0, rank)``."""
    axis = int(axis)
    if axis < -rank or axis >= max(rank, 1):
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def norm_axes(axes: Sequence[int], rank: int) -> list[int]:
    return [norm_axis(a, rank) for a in axes]


def const_int_list(ctx, index: int) -> list[int] | None:
    """The constant value of input ``index`` as an int list, or ``None``."""
    value = ctx.const(index)
    return None if value is None else int_list(value)
