"""MindIR tensors: element types, and ``TensorProto`` <-> numpy (inline or external data).

MindSpore writes a parameter's bytes to ``raw_data``, or, for models whose
parameters pass 1 GB, to ``<name>_variables/data_<k>`` beside the graph file,
referenced by ``external_data`` (location relative to the graph file's
directory, absolute byte offset, length).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from litert.errors import InvalidModelError, ModelLoadError
from litert.ir import DType
from litert.limits import check_bytes, numel

from .mind_ir_pb2 import TensorProto

_T = TensorProto

#: MindIR TensorProto.DataType -> IR dtype (MindIR numbers follow ONNX up to 16, then FLOAT64 = 17)
FROM_MINDIR: dict[int, DType] = {
    _T.FLOAT: DType.FLOAT32, _T.UINT8: DType.UINT8, _T.INT8: DType.INT8, _T.UINT16: DType.UINT16,
    _T.INT16: DType.INT16, _T.INT32: DType.INT32, _T.INT64: DType.INT64, _T.STRING: DType.STRING,
    _T.BOOL: DType.BOOL, _T.FLOAT16: DType.FLOAT16, _T.DOUBLE: DType.FLOAT64, _T.UINT32: DType.UINT32,
    _T.UINT64: DType.UINT64, _T.COMPLEX64: DType.COMPLEX64, _T.COMPLEX128: DType.COMPLEX128,
    _T.BFLOAT16: DType.BFLOAT16, _T.FLOAT64: DType.FLOAT64,
}
#: IR dtype -> MindIR code written (FLOAT64 as DOUBLE, as MindSpore exports float64)
TO_MINDIR: dict[DType, int] = {dt: code for code, dt in FROM_MINDIR.items() if code != _T.FLOAT64}


def ir_dtype(code: int, what: str) -> DType:
    try:
        return FROM_MINDIR[code]
    except KeyError:
        name = _T.DataType.Name(code) if code in _T.DataType.values() else str(code)
        raise ModelLoadError(f"{what}: unsupported MindIR element type {name}") from None


def mindir_dtype(dtype: DType, what: str) -> int:
    try:
        return TO_MINDIR[dtype]
    except KeyError:
        raise InvalidModelError(f"{what}: element type {dtype} has no MindIR counterpart") from None


def shape_of(tensor: TensorProto) -> tuple:
    """Dims with MindSpore's -1 (dynamic) as None."""
    return tuple(None if d < 0 else int(d) for d in tensor.dims)


def to_numpy(tensor: TensorProto, base_dir: Path | None, what: str) -> np.ndarray:
    """The array a tensor holds: raw_data, a typed field, or its external data file."""
    dtype = ir_dtype(tensor.data_type, what)
    shape = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in shape):
        raise ModelLoadError(f"{what}: constant tensor with dynamic dims {list(shape)}")
    count = numel(shape)
    check_bytes(count * max(dtype.itemsize, 1), what)
    if tensor.compression_type not in (0, _T.NO_COMPRESSION):
        raise ModelLoadError(f"{what}: compressed tensors ({_T.CompressionType.Name(tensor.compression_type)}) "
                             "are not supported")
    if tensor.HasField("external_data"):
        data = _read_external(tensor, base_dir, what, count * dtype.itemsize)
    elif tensor.HasField("raw_data") or count == 0:
        data = tensor.raw_data
    else:
        return _typed_field(tensor, dtype, shape, count, what)
    if dtype is DType.STRING:
        raise ModelLoadError(f"{what}: string tensors in raw form are not supported")
    expected = count * dtype.itemsize
    if len(data) != expected:
        raise ModelLoadError(f"{what}: {len(data)} bytes of data for {dtype}{list(shape)} ({expected} expected)")
    return np.frombuffer(data, dtype=dtype.numpy.newbyteorder("<")).reshape(shape).astype(dtype.numpy, copy=True)


def _typed_field(tensor: TensorProto, dtype: DType, shape: tuple, count: int, what: str) -> np.ndarray:
    for field in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
        values = getattr(tensor, field)
        if len(values):
            break
    else:
        if tensor.string_data:
            return np.array([s.decode("utf-8", "replace") for s in tensor.string_data], dtype=object).reshape(shape)
        raise ModelLoadError(f"{what}: tensor {dtype}{list(shape)} has no data")
    if len(values) != count:
        raise ModelLoadError(f"{what}: {len(values)} values for a tensor of {count} elements")
    return np.asarray(values).astype(dtype.numpy).reshape(shape)


def _read_external(tensor: TensorProto, base_dir: Path | None, what: str, expected: int) -> bytes:
    ext = tensor.external_data
    if ext.offset < 0 or ext.length != expected:
        raise ModelLoadError(f"{what}: external data at offset {ext.offset} of length {ext.length} "
                             f"for a tensor of {expected} bytes")
    if base_dir is None:
        raise ModelLoadError(f"{what}: external data without a model directory")
    location = Path(ext.location)
    path = (base_dir / location).resolve()
    if location.is_absolute() or not path.is_relative_to(base_dir.resolve()):
        raise ModelLoadError(f"{what}: external data location {ext.location!r} leaves the model's directory")
    if not path.is_file():
        raise ModelLoadError(f"{what}: external data file {ext.location!r} not found next to the model")
    size = path.stat().st_size
    if ext.offset + ext.length > size:
        raise ModelLoadError(f"{what}: external data file {ext.location!r} is truncated "
                             f"({size} bytes, {ext.length} wanted at offset {ext.offset})")
    with open(path, "rb") as f:
        f.seek(ext.offset)
        data = f.read(ext.length)
    if len(data) != ext.length:
        raise ModelLoadError(f"{what}: external data file {ext.location!r} is truncated "
                             f"({len(data)} of {ext.length} bytes at offset {ext.offset})")
    return data


def fill(tensor: TensorProto, array: np.ndarray, what: str) -> None:
    """Write ``array`` into ``tensor`` as dims, data_type and little-endian raw_data."""
    array = np.asarray(array)
    dtype = DType.from_numpy(array.dtype)
    tensor.data_type = mindir_dtype(dtype, what)
    tensor.dims.extend(int(d) for d in array.shape)
    tensor.raw_data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
