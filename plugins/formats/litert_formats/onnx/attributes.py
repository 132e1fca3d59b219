"""ONNX ``AttributeProto`` <-> Python values of ``Node.attrs``.

INT -> int, FLOAT -> float, STRING -> str (utf-8), INTS/FLOATS -> list,
STRINGS -> list[str], TENSOR -> np.ndarray, SPARSE_TENSOR -> dense ndarray,
GRAPH -> litert Graph (through a callback), GRAPHS -> list[Graph],
TENSORS -> list[np.ndarray], TYPE_PROTO -> small dict (see :mod:`.types`).
Writing back picks the attribute type from the operator schema when the
Python value alone is ambiguous (empty list, int given for a float).

Reading takes litert's own message classes (:mod:`.onnx_ml_pb2`) or the ``onnx`` package's alike and imports
``onnx`` only for element types it does not decode itself (float8, 2/4/6-bit, complex, segments, external
data); writing builds the ``onnx`` package's classes.
"""
from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from litert.ir import DType, Graph
from litert.limits import check_bytes, numel

from . import guard
from .onnx_ml_pb2 import AttributeProto, SparseTensorProto, TensorProto
from .types import type_attr_from_proto, type_attr_to_proto

A = AttributeProto
T = TensorProto


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


#: element types whose ``raw_data`` is the array's bytes as they are (no 2-, 4- or 6-bit packing), on a
#: little-endian machine (ONNX's byte order); none elsewhere: onnx's ``to_array`` swaps the bytes
_PLAIN_RAW = frozenset((
    T.FLOAT, T.DOUBLE, T.FLOAT16, T.BFLOAT16, T.BOOL, T.INT8, T.UINT8, T.INT16, T.UINT16, T.INT32, T.UINT32,
    T.INT64, T.UINT64,
) if sys.byteorder == "little" else ())


@functools.cache
def _numpy(code: int) -> np.dtype:
    """``DType(code).numpy`` (an enum call and a lookup, ~0.3 us a tensor otherwise); bfloat16's imports
    ml_dtypes, so this is not a table built at import."""
    return DType(code).numpy


#: element type -> how the values of its typed field (:data:`.guard.VALUE_FIELDS`) are read, by
#: ``numpy_helper.to_array``'s rules, for the types litert decodes without onnx.  "cast": read as the field's
#: storage type, then cast (int32_data holds int8/uint8 values as they are); "bits16"/"bits8": the low bits of
#: each int32 are the value's bit pattern
_TYPED: dict[int, str] = {
    T.FLOAT: "cast", T.DOUBLE: "cast", T.INT32: "cast", T.INT64: "cast", T.UINT32: "cast", T.UINT64: "cast",
    T.INT8: "cast", T.UINT8: "cast",
    T.FLOAT16: "bits16", T.BFLOAT16: "bits16", T.INT16: "bits16", T.UINT16: "bits16", T.BOOL: "bits8",
}
_STORAGE = {"float_data": np.float32, "double_data": np.float64, "int32_data": np.int32, "int64_data": np.int64,
            "uint64_data": np.uint64}

#: up to this many values, a repeated number field is read as a list (:func:`_values`)
_SHORT = 16


def _values(values, storage) -> np.ndarray:
    """A repeated number field as a new 1-D array of ``storage``.

    upb's own conversion (``np.asarray``) costs ~1.4 us whatever the length; a short field is read faster as a
    list (0.3 us for one value, 0.9 for sixteen).  But the values of a ``float_data`` pass through Python
    floats then, which quiet a signalling NaN: one with a NaN (or infinities that cancel) takes upb's conversion,
    which copies the bits as they are."""
    if len(values) <= _SHORT:
        items = values[:]
        if storage is not np.float32 or not math.isnan(sum(items)):
            return np.array(items, storage)
    return np.asarray(values, storage)


def _typed_array(values, field: str, code: int, dims: tuple[int, ...]) -> np.ndarray:
    dtype = _numpy(code)
    array = _values(values, _STORAGE[field])
    rule = _TYPED[code]
    if rule == "cast":
        return array.astype(dtype, copy=False).reshape(dims)  # the array is new either way: no copy needed
    narrow = np.uint16 if rule == "bits16" else np.uint8
    return array.view(np.uint32).astype(narrow).reshape(dims).view(dtype)


def _onnx_to_array(t) -> np.ndarray:
    """``numpy_helper.to_array`` itself, for the element types and layouts litert leaves to it."""
    import onnx
    from onnx import numpy_helper

    if not isinstance(t, onnx.TensorProto):
        t = onnx.TensorProto.FromString(t.SerializeToString())
    return numpy_helper.to_array(t)


def _checked(t, entries: int | None = None) -> None:
    problem = guard.data_size_problem(t, entries)
    if problem:
        raise ValueError(problem)


def tensor_to_array(t) -> np.ndarray:
    """``numpy_helper.to_array`` with strings as Python ``str`` (object array), after the data size check
    (:func:`.guard.data_size_problem`); ``t`` is a ``TensorProto`` of litert's schema copy or of ``onnx``.
    Each field is read once (every read of a upb field builds a Python object; of ``raw_data``, a copy), and
    the check counts the entries of the field that is decoded.  Plain ``raw_data`` gives a read-only view of
    those bytes (as ``to_array``'s is)."""
    code = t.data_type
    if t.HasField("raw_data"):
        raw = t.raw_data
        _checked(t, len(raw))
        if not _plain_raw(t):
            return _onnx_to_array(t)  # its errors, its byte swapping and packed types, as they are
        return _raw_view(t, raw, 0, len(raw))
    if t.HasField("segment") or t.data_location == T.EXTERNAL:
        _checked(t)
        return _onnx_to_array(t)  # its errors and its external-data reading, as they are
    field = guard.VALUE_FIELDS.get(code)
    if field is None or (code not in _TYPED and code != T.STRING):
        _checked(t)
        return _onnx_to_array(t)
    values = getattr(t, field)
    _checked(t, len(values))
    if code == T.STRING:
        return np.array([s.decode("utf-8") for s in values], dtype=object).reshape(t.dims)  # strict, as there
    return _typed_array(values, field, code, tuple(t.dims))


def _plain_raw(t) -> bool:
    """Whether ``t``'s ``raw_data`` is its array's bytes as they are (:data:`_PLAIN_RAW`, not a segment)."""
    return t.data_type in _PLAIN_RAW and not t.HasField("segment")


def _raw_view(t, buffer, start: int, stop: int) -> np.ndarray:
    """``t``'s array as a view of its plain ``raw_data``, which is ``buffer[start:stop]``."""
    dtype = _numpy(t.data_type)
    return np.frombuffer(buffer, dtype=dtype, count=(stop - start) // dtype.itemsize, offset=start).reshape(t.dims)


def held_array(t, buffer, start: int, stop: int, borrow: bool) -> np.ndarray:
    """``t``'s array where ``t`` was parsed without its ``raw_data``, which is ``buffer[start:stop]`` (the mapped
    file: :mod:`.wire`), checked as :func:`tensor_to_array` checks it: plain ``raw_data`` as a read-only view of
    those bytes with ``borrow``, else in memory of its own."""
    if not _plain_raw(t):  # a segment or a packed type: decoded as it is, from a message that holds its bytes
        whole = type(t)()
        whole.CopyFrom(t)
        whole.raw_data = bytes(buffer[start:stop])
        return tensor_to_array(whole)
    _checked(t, stop - start)
    view = _raw_view(t, buffer, start, stop)
    return view if borrow else view.copy()


def sparse_to_array(sp: SparseTensorProto) -> np.ndarray:
    """Densify a sparse tensor (linear or coordinate indices)."""
    values = tensor_to_array(sp.values)
    dims = tuple(int(d) for d in sp.dims)
    if any(d < 0 for d in dims):
        raise ValueError(f"sparse tensor with negative dims {list(dims)}")
    count = numel(dims)
    check_bytes(count * values.dtype.itemsize, f"sparse tensor {sp.values.name!r} {list(dims)}")
    dense = np.zeros(count, dtype=values.dtype)
    if values.size:
        indices = tensor_to_array(sp.indices).astype(np.int64)
        if indices.ndim == 2:
            indices = np.ravel_multi_index(tuple(indices.T), dims)
        dense[indices] = values.reshape(-1)
    return dense.reshape(dims)


#: AttributeProto type -> (the field holding its value, whether that field is a list, the kind of value); each
#: plural type is the list form of its singular one, and the kinds are the schema's type names ("ints" = "int" + s)
_FIELDS = {
    A.INT: ("i", False, "int"), A.INTS: ("ints", True, "int"),
    A.FLOAT: ("f", False, "float"), A.FLOATS: ("floats", True, "float"),
    A.STRING: ("s", False, "string"), A.STRINGS: ("strings", True, "string"),
    A.TENSOR: ("t", False, "tensor"), A.TENSORS: ("tensors", True, "tensor"),
    A.SPARSE_TENSOR: ("sparse_tensor", False, "sparse_tensor"), A.SPARSE_TENSORS: ("sparse_tensors", True, "sparse_tensor"),
    A.GRAPH: ("g", False, "graph"), A.GRAPHS: ("graphs", True, "graph"),
    A.TYPE_PROTO: ("tp", False, "type_proto"), A.TYPE_PROTOS: ("type_protos", True, "type_proto"),
}
#: the kinds upb gives as Python values already (ints and floats)
_NUMBERS = frozenset(("int", "float"))
#: how one value of each other kind is read (graphs through the caller's ``graph_fn``)
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "string": _text, "tensor": tensor_to_array, "sparse_tensor": sparse_to_array,
    "type_proto": type_attr_from_proto,
}


def from_proto(attr: AttributeProto, graph_fn: Callable[[Any], Graph]) -> Any:
    """The attribute's value: an int, float, str, numpy array, Graph (through ``graph_fn``), type, or a list of them."""
    field = _FIELDS.get(attr.type)
    if field is None:
        raise ValueError(f"attribute {attr.name!r} has an undefined type")
    name, repeated, kind = field
    value = getattr(attr, name)
    if kind in _NUMBERS:
        return list(value) if repeated else value
    decode = graph_fn if kind == "graph" else _DECODERS[kind]
    return [decode(v) for v in value] if repeated else decode(value)


_SCHEMA_TYPES = {kind + ("s" if repeated else ""): t for t, (_, repeated, kind) in _FIELDS.items()}


def _array_to_tensor(arr: np.ndarray):
    from onnx import numpy_helper

    arr = np.asarray(arr)
    if arr.dtype.kind in ("U", "S", "O"):
        arr = arr.astype(object)
    return numpy_helper.from_array(arr)


def _scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


#: a Python value's type -> the kind of attribute value it is stored as, first match wins (a bool is an int)
_KIND_OF_PYTHON: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (Graph, "graph"), (np.ndarray, "tensor"), (dict, "type_proto"), ((bool, int, np.integer), "int"),
    ((float, np.floating), "float"), ((str, bytes), "string"),
)


def _kind_of(value: Any) -> str | None:
    return next((kind for types, kind in _KIND_OF_PYTHON if isinstance(value, types)), None)


def _guess_type(value: Any) -> int:
    """The AttributeProto type a value alone asks for; a list of numbers is FLOATS when any element is a float."""
    if isinstance(value, (list, tuple)):
        kind = _kind_of(value[0]) if value else None
        if kind in (None, "int", "float"):
            kind = "float" if any(isinstance(v, (float, np.floating)) for v in value) else "int"
        return _SCHEMA_TYPES[kind + "s"]
    kind = _kind_of(value)
    if kind is None:
        raise TypeError(f"cannot store {type(value).__name__} as an ONNX attribute")
    return _SCHEMA_TYPES[kind]


def to_proto(name: str, value: Any, schema_type: str | None, graph_fn: Callable[[Graph], Any]):
    """Build the ``onnx`` package's AttributeProto of ``name = value``; ``schema_type`` is the schema's type
    name if known."""
    from onnx import AttributeProto
    kind = _SCHEMA_TYPES.get(schema_type or "") or _guess_type(value)
    if isinstance(value, np.ndarray) and kind in (A.INTS, A.FLOATS, A.STRINGS):
        value = value.reshape(-1).tolist()  # a pass may hand a list attribute over as an array
    elif isinstance(value, np.ndarray) and kind in (A.INT, A.FLOAT, A.STRING) and value.size == 1:
        value = value.reshape(-1)[0].item()
    elif isinstance(value, tuple):
        value = list(value)
    if kind != _guess_type(value) and not (isinstance(value, (list, tuple)) and not value):
        # Trust the value when the schema type cannot hold it (e.g. a graph where a tensor is expected).
        guessed = _guess_type(value)
        compatible = {(A.FLOAT, A.INT), (A.FLOATS, A.INTS), (A.INTS, A.FLOATS), (A.INT, A.FLOAT)}
        if (kind, guessed) not in compatible:
            kind = guessed
    attr = AttributeProto(name=name, type=kind)  # type: ignore[arg-type]  # an AttributeType value, an int at run time
    if kind == A.INT:
        attr.i = int(_scalar(value))
    elif kind == A.FLOAT:
        attr.f = float(_scalar(value))
    elif kind == A.STRING:
        attr.s = value if isinstance(value, bytes) else str(value).encode("utf-8")
    elif kind == A.INTS:
        attr.ints.extend(int(_scalar(v)) for v in value)
    elif kind == A.FLOATS:
        attr.floats.extend(float(_scalar(v)) for v in value)
    elif kind == A.STRINGS:
        attr.strings.extend(v if isinstance(v, bytes) else str(v).encode("utf-8") for v in value)
    elif kind in (A.TENSOR, A.SPARSE_TENSOR):
        attr.type = A.TENSOR
        attr.t.CopyFrom(_array_to_tensor(value))
    elif kind in (A.TENSORS, A.SPARSE_TENSORS):
        attr.type = A.TENSORS
        attr.tensors.extend(_array_to_tensor(v) for v in value)
    elif kind == A.GRAPH:
        attr.g.CopyFrom(graph_fn(value))
    elif kind == A.GRAPHS:
        attr.graphs.extend(graph_fn(g) for g in value)
    elif kind == A.TYPE_PROTO:
        attr.tp.CopyFrom(type_attr_to_proto(value))
    elif kind == A.TYPE_PROTOS:
        attr.type_protos.extend(type_attr_to_proto(v) for v in value)
    return attr
