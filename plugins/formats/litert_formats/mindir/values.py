"""MindIR ``AttributeProto`` <-> Python values.

An AttributeProto is a primitive's attribute, a node's abstract (attribute
"shape"), or the value of a ``Constant`` node.  Top-level scalars sit in
``i``/``f``/``d``/``s``; inside a TUPLE/LIST each element is an
AttributeProto whose scalar sits in ``ints``/``floats``/``doubles``/``strings``
(this is how MindSpore 2.x writes them); both places are read.

Python side: int, bool, float, str, tuple, ``None``, numpy arrays (TENSOR),
:data:`MONAD` (MindSpore's UMonad/IOMonad side-effect tokens), and
:class:`Abstract` for the declared type/shape of a node output.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from litert.ir import DType

from . import tensors
from .mind_ir_pb2 import AttributeProto

_A = AttributeProto
_INTS = {_A.INT8, _A.INT16, _A.INT32, _A.INT64, _A.UINT8, _A.UINT16, _A.UINT32, _A.UINT64}
_FLOATS = {_A.FLOAT, _A.FLOAT16, _A.BFLOAT16}
_SEQUENCES = {_A.TUPLE: tuple, _A.LIST: tuple}


class _Monad:
    """A side-effect token (UMonad/IOMonad): carries ordering, never data."""

    def __repr__(self) -> str:
        return "MONAD"


MONAD = _Monad()


@dataclass(frozen=True)
class Abstract:
    """The declared element type and shape of a tensor (dims: int or None for dynamic)."""

    dtype: DType | None
    shape: tuple | None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


class UndecodableValue(Exception):
    """An attribute of a type litert does not read (a closure, a class, a map tensor...)."""


def decode(attr: AttributeProto, base_dir: Path | None = None, nested: bool = False) -> Any:
    """The Python value of ``attr``; raises :class:`UndecodableValue` for exotic types."""
    kind = attr.type
    if kind in _INTS:
        return int(attr.ints[0] if len(attr.ints) else attr.i)
    if kind == _A.BOOL:
        return bool(attr.ints[0] if len(attr.ints) else attr.i)
    if kind in _FLOATS:
        return float(attr.floats[0] if len(attr.floats) else attr.f)
    if kind == _A.DOUBLE:
        return float(attr.doubles[0] if len(attr.doubles) else attr.d)
    if kind == _A.STRING:
        raw = attr.strings[0] if len(attr.strings) else attr.s
        return raw.decode("utf-8", "replace")
    if kind in _SEQUENCES:
        return tuple(decode(v, base_dir, nested=True) for v in attr.values)
    if kind == _A.TENSOR:
        return tensors.to_numpy(attr.t, base_dir, f"constant {attr.name or ''}".strip())
    if kind == _A.TENSORS:  # how MindSpore 2.x writes a tensor value node: one tensor in `tensors`
        arrays = tuple(tensors.to_numpy(t, base_dir, f"constant {attr.name or ''}".strip()) for t in attr.tensors)
        return arrays[0] if len(arrays) == 1 else arrays
    if kind == _A.NONE:
        return None
    if kind in (_A.UMONAD, _A.IOMONAD):
        return MONAD
    if kind == _A.UNDEFINED and not nested and attr.HasField("t"):
        return tensors.to_numpy(attr.t, base_dir, f"constant {attr.name or ''}".strip())
    name = _A.AttributeType.Name(kind) if kind in _A.AttributeType.values() else str(kind)
    raise UndecodableValue(name)


def decode_abstract(attr: AttributeProto) -> Any:
    """A node's "shape" attribute: an :class:`Abstract`, a tuple of them, MONAD, or None when unknown."""
    kind = attr.type
    if kind == _A.TENSORS and len(attr.tensors) == 1:
        t = attr.tensors[0]
        dtype = tensors.FROM_MINDIR.get(t.data_type)
        return Abstract(dtype, tensors.shape_of(t))
    if kind in _SEQUENCES:
        return tuple(decode_abstract(v) for v in attr.values)
    if kind in (_A.UMONAD, _A.IOMONAD):
        return MONAD
    if kind in _INTS or kind in _FLOATS or kind in (_A.BOOL, _A.DOUBLE):
        return Abstract(None, ())  # a scalar
    return None


# ---------------------------------------------------------------- encoding


def encode(attr: AttributeProto, value: Any, name: str = "", nested: bool = False) -> AttributeProto:
    """Fill ``attr`` with ``value`` the way MindSpore writes it (see the module docstring)."""
    if name:
        attr.name = name
    if value is MONAD:
        attr.type = _A.UMONAD
    elif value is None:
        attr.type = _A.NONE
    elif isinstance(value, (bool, np.bool_)):
        attr.type = _A.BOOL
        (attr.ints.append if nested else _set(attr, "i"))(int(value))
    elif isinstance(value, (int, np.integer)):
        attr.type = _A.INT64
        (attr.ints.append if nested else _set(attr, "i"))(int(value))
    elif isinstance(value, (float, np.floating)):
        attr.type = _A.FLOAT
        (attr.floats.append if nested else _set(attr, "f"))(float(value))
    elif isinstance(value, str):
        attr.type = _A.STRING
        (attr.strings.append if nested else _set(attr, "s"))(value.encode())
    elif isinstance(value, (tuple, list)):
        attr.type = _A.TUPLE if isinstance(value, tuple) else _A.LIST
        for item in value:
            encode(attr.values.add(), item, nested=True)
    elif isinstance(value, np.ndarray):
        attr.type = _A.TENSOR
        tensors.fill(attr.t, value, f"attribute {name}")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as a MindIR attribute")
    return attr


def _set(attr: AttributeProto, field: str):
    return lambda v: setattr(attr, field, v)


def encode_abstract(attr: AttributeProto, dtype: DType, shape) -> None:
    """A node's "shape" attribute for one tensor (dims None/str -> -1)."""
    attr.name = "shape"
    attr.type = _A.TENSORS
    t = attr.tensors.add()
    t.data_type = tensors.mindir_dtype(dtype, "abstract")
    t.dims.extend(d if isinstance(d, int) else -1 for d in shape)

