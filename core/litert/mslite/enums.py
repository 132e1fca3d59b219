"""MindSpore Lite's enums (the values of its 2.x Python API) and the one table per enum that maps them to litert.

Scripts compare these by identity and print them (``DataType.FLOAT32``), so the
names and values are MindSpore Lite's own.
"""
from __future__ import annotations

from enum import Enum

import numpy as np

from ..ir import DType


class ModelType(Enum):
    """The model file kinds ``Model.build_from_file`` and ``Converter.save_type`` take."""

    MINDIR = 0
    MINDIR_LITE = 4


class DataType(Enum):
    """Element types of a :class:`Tensor`."""

    UNKNOWN = 0
    BOOL = 30
    INT8 = 32
    INT16 = 33
    INT32 = 34
    INT64 = 35
    UINT8 = 37
    UINT16 = 38
    UINT32 = 39
    UINT64 = 40
    FLOAT16 = 42
    FLOAT32 = 43
    FLOAT64 = 44
    INVALID = 2147483647


class Format(Enum):
    """Tensor layouts."""

    DEFAULT = -1
    NCHW = 0
    NHWC = 1
    NHWC4 = 2
    HWKC = 3
    HWCK = 4
    KCHW = 5
    CKHW = 6
    KHWC = 7
    CHWK = 8
    HW = 9
    HW4 = 10
    NC = 11
    NC4 = 12
    NC4HW4 = 13
    NCDHW = 15
    NWC = 16
    NCW = 17
    NDHWC = 18
    NC8HW8 = 19


class FmkType(Enum):
    """Source frameworks of ``Converter.convert``."""

    TF = 0
    CAFFE = 1
    ONNX = 2
    MINDIR = 3
    TFLITE = 4
    PYTORCH = 5


#: element type -> numpy dtype (the types a Tensor can hold data of)
NUMPY_OF: dict[DataType, np.dtype] = {
    DataType.BOOL: np.dtype(np.bool_),
    DataType.INT8: np.dtype(np.int8),
    DataType.INT16: np.dtype(np.int16),
    DataType.INT32: np.dtype(np.int32),
    DataType.INT64: np.dtype(np.int64),
    DataType.UINT8: np.dtype(np.uint8),
    DataType.UINT16: np.dtype(np.uint16),
    DataType.UINT32: np.dtype(np.uint32),
    DataType.UINT64: np.dtype(np.uint64),
    DataType.FLOAT16: np.dtype(np.float16),
    DataType.FLOAT32: np.dtype(np.float32),
    DataType.FLOAT64: np.dtype(np.float64),
}
DATA_TYPE_OF_NUMPY: dict[np.dtype, DataType] = {v: k for k, v in NUMPY_OF.items()}


def data_type_of(dtype: DType | None) -> DataType:
    """The DataType of a litert IR element type (UNKNOWN when it has none)."""
    if dtype is None or dtype is DType.STRING:
        return DataType.UNKNOWN
    try:
        return DATA_TYPE_OF_NUMPY.get(dtype.numpy, DataType.UNKNOWN)
    except KeyError:
        return DataType.UNKNOWN


#: ModelType -> the litert frontend that reads such a file
FRONTEND_OF_MODEL_TYPE = {ModelType.MINDIR: "mindir", ModelType.MINDIR_LITE: "ms"}
#: ModelType -> (litert serializer, suffix the converter appends)
WRITER_OF_MODEL_TYPE = {ModelType.MINDIR: ("mindir", ".mindir"), ModelType.MINDIR_LITE: ("ms", ".ms")}
#: FmkType -> the litert frontend name (a missing frontend is refused when converting)
FRONTEND_OF_FMK = {
    FmkType.TF: "tf",
    FmkType.CAFFE: "caffe",
    FmkType.ONNX: "onnx",
    FmkType.MINDIR: "mindir",
    FmkType.TFLITE: "tflite",
    FmkType.PYTORCH: "pytorch",
}
