"""Element types of the IR and their numpy counterparts.

The IR names types by ONNX's TensorProto enum names in lower case, which is
also the vocabulary of the ``.ms`` and MindIR mappings.  Extension types
(bfloat16, float8, int4) come from ``ml_dtypes``, imported the first time one is
asked for: most models never need them, and the import costs ~4 ms of every process's first load.
"""
from __future__ import annotations

import functools
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy.typing: ~0.4 ms of import for one annotation
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
        found = _TO_NUMPY.get(self)
        if found is None:
            found = _extension_types()[self]
        return found

    @property
    def itemsize(self) -> int:
        return 0 if self is DType.STRING else self.numpy.itemsize

    @property
    def is_float(self) -> bool:
        return self in _FLOATS

    @classmethod
    def from_numpy(cls, dtype: npt.DTypeLike) -> DType:
        dtype = np.dtype(dtype)
        if dtype.kind in ("O", "U", "S"):
            return cls.STRING
        found: DType | None = _FROM_NUMPY.get(dtype)
        if found is None:  # an ml_dtypes type (whose module is then imported already) or none of litert's
            found = _FROM_EXTENSION.get(dtype) if _extension_types() else None
        if found is None:
            raise TypeError(f"numpy dtype {dtype} has no litert counterpart")
        return found

    def __str__(self) -> str:
        return self.name.lower()


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
}
_FROM_NUMPY = {v: k for k, v in _TO_NUMPY.items() if k is not DType.STRING}

#: The extension types by their ``ml_dtypes`` names; a type the installed ml_dtypes lacks has no numpy form.
_EXTENSION_NAMES = {
    DType.BFLOAT16: "bfloat16", DType.FLOAT8E4M3FN: "float8_e4m3fn", DType.FLOAT8E4M3FNUZ: "float8_e4m3fnuz",
    DType.FLOAT8E5M2: "float8_e5m2", DType.FLOAT8E5M2FNUZ: "float8_e5m2fnuz", DType.UINT4: "uint4",
    DType.INT4: "int4", DType.FLOAT4E2M1: "float4_e2m1fn", DType.FLOAT8E8M0: "float8_e8m0fnu",
    DType.UINT2: "uint2", DType.INT2: "int2",
}
_FROM_EXTENSION: dict[np.dtype, DType] = {}


@functools.cache
def _extension_types() -> dict[DType, np.dtype]:
    import ml_dtypes

    found = {dt: np.dtype(getattr(ml_dtypes, name)) for dt, name in _EXTENSION_NAMES.items()
             if hasattr(ml_dtypes, name)}
    _FROM_EXTENSION.update({v: k for k, v in found.items()})
    return found


_FLOATS = {DType.FLOAT32, DType.FLOAT16, DType.FLOAT64, DType.BFLOAT16, DType.FLOAT8E4M3FN,
           DType.FLOAT8E4M3FNUZ, DType.FLOAT8E5M2, DType.FLOAT8E5M2FNUZ, DType.FLOAT4E2M1, DType.FLOAT8E8M0}


def numpy_dtype(code: int) -> np.dtype:
    """The numpy dtype of an ONNX ``TensorProto.DataType`` code (as attributes such as Cast's ``to`` carry it).

    Raises ValueError for a code ONNX does not define and KeyError for a type the installed ``ml_dtypes``
    has no numpy form of."""
    return DType(int(code)).numpy
