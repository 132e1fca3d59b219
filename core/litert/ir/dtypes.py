"""Element types of the IR and their numpy counterparts.

The IR names types by ONNX's TensorProto enum names in lower case, which is
also the vocabulary of the ``.ms`` and MindIR mappings.  Extension types
(bfloat16, float8, int4) come from ``ml_dtypes``.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

import ml_dtypes
import numpy as np
import numpy.typing as npt


class DType(Enum):
    """An element type; ``value`` is the ONNX ``TensorProto.DataType`` code."""

    FLOAT32 = 1
    UINT8 = 2
    INT8 = 3
    UINT16 = 4
    INT16 = 5
    INT32 = 6
    INT64 = 7
    STRING = 8
    BOOL = 9
    FLOAT16 = 10
    FLOAT64 = 11
    UINT32 = 12
    UINT64 = 13
    COMPLEX64 = 14
    COMPLEX128 = 15
    BFLOAT16 = 16
    FLOAT8E4M3FN = 17
    FLOAT8E4M3FNUZ = 18
    FLOAT8E5M2 = 19
    FLOAT8E5M2FNUZ = 20
    UINT4 = 21
    INT4 = 22
    FLOAT4E2M1 = 23
    FLOAT8E8M0 = 24
    UINT2 = 25
    INT2 = 26

    @property
    def numpy(self) -> np.dtype:
        return _TO_NUMPY[self]

    @property
    def itemsize(self) -> int:
        return 0 if self is DType.STRING else _TO_NUMPY[self].itemsize

    @property
    def is_float(self) -> bool:
        return self in _FLOATS

    @classmethod
    def from_numpy(cls, dtype: npt.DTypeLike) -> DType:
        dtype = np.dtype(dtype)
        if dtype.kind in ("O", "U", "S"):
            return cls.STRING
        try:
            return _FROM_NUMPY[dtype]
        except KeyError:
            raise TypeError(f"numpy dtype {dtype} has no litert counterpart") from None

    def __str__(self) -> str:
        return self.name.lower()


def _optional(name: str) -> np.dtype[Any] | None:
    return np.dtype(getattr(ml_dtypes, name)) if hasattr(ml_dtypes, name) else None


_TO_NUMPY: dict[DType, np.dtype] = {
    DType.FLOAT32: np.dtype(np.float32),
    DType.UINT8: np.dtype(np.uint8),
    DType.INT8: np.dtype(np.int8),
    DType.UINT16: np.dtype(np.uint16),
    DType.INT16: np.dtype(np.int16),
    DType.INT32: np.dtype(np.int32),
    DType.INT64: np.dtype(np.int64),
    DType.STRING: np.dtype(object),
    DType.BOOL: np.dtype(np.bool_),
    DType.FLOAT16: np.dtype(np.float16),
    DType.FLOAT64: np.dtype(np.float64),
    DType.UINT32: np.dtype(np.uint32),
    DType.UINT64: np.dtype(np.uint64),
    DType.COMPLEX64: np.dtype(np.complex64),
    DType.COMPLEX128: np.dtype(np.complex128),
    DType.BFLOAT16: np.dtype(ml_dtypes.bfloat16),
    DType.FLOAT8E4M3FN: np.dtype(ml_dtypes.float8_e4m3fn),
    DType.FLOAT8E4M3FNUZ: np.dtype(ml_dtypes.float8_e4m3fnuz),
    DType.FLOAT8E5M2: np.dtype(ml_dtypes.float8_e5m2),
    DType.FLOAT8E5M2FNUZ: np.dtype(ml_dtypes.float8_e5m2fnuz),
    DType.UINT4: np.dtype(ml_dtypes.uint4),
    DType.INT4: np.dtype(ml_dtypes.int4),
}
for _dt, _name in ((DType.FLOAT4E2M1, "float4_e2m1fn"), (DType.FLOAT8E8M0, "float8_e8m0fnu"),
                   (DType.UINT2, "uint2"), (DType.INT2, "int2")):
    _found = _optional(_name)
    if _found is not None:
        _TO_NUMPY[_dt] = _found

_FROM_NUMPY = {v: k for k, v in _TO_NUMPY.items() if k is not DType.STRING}
_FLOATS = {DType.FLOAT32, DType.FLOAT16, DType.FLOAT64, DType.BFLOAT16, DType.FLOAT8E4M3FN,
           DType.FLOAT8E4M3FNUZ, DType.FLOAT8E5M2, DType.FLOAT8E5M2FNUZ, DType.FLOAT4E2M1, DType.FLOAT8E8M0}
