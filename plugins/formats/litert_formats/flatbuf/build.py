"""Write a FlatBuffers table from a ``dict`` by slot, through ``flatbuffers.Builder``.

:func:`build_table` adds the fields in the ``dict``'s order (others stay
absent: the schema default) and, first, the strings, vectors and tables they
point to, in the same order (FlatBuffers forbids building one object inside
another).  A value that is already in the builder (a 16-byte aligned data
vector, tables built earlier) is passed as :class:`Ref`; a vector of tables
may mix ``Ref`` and ``dict`` items.  A scalar equal to its schema default is
left out, as flatc's builders do, so the bytes equal theirs.
"""
from __future__ import annotations

import flatbuffers
import numpy as np

from .schema import PYTHON_TYPES, Field, Schema

_PREPEND = {"?": "PrependBoolSlot", "b": "PrependInt8Slot", "B": "PrependUint8Slot", "h": "PrependInt16Slot",
            "H": "PrependUint16Slot", "i": "PrependInt32Slot", "I": "PrependUint32Slot", "q": "PrependInt64Slot",
            "Q": "PrependUint64Slot", "f": "PrependFloat32Slot", "d": "PrependFloat64Slot"}


class Ref(int):
    """The offset of an object already in the builder."""


def build_table(schema: Schema, builder: flatbuffers.Builder, table: str, values: dict) -> Ref:
    """Write ``table`` with the fields in ``values``; its offset."""
    fields = schema.fields[table]
    unknown = sorted(set(values) - {name for name, f in fields.items() if f.kind != "deprecated"})
    if unknown:
        raise KeyError(f"{table} has no field(s) {unknown}")
    offsets = {}
    for name, value in values.items():  # children first
        field = fields[name]
        if value is not None and field.kind != "scalar":
            offsets[name] = value if isinstance(value, Ref) else _child(schema, builder, field, value, values)
    builder.StartObject(len(schema.tables[table]))
    for name, value in values.items():
        field = fields[name]
        if value is None:
            continue
        if field.kind == "scalar":
            getattr(builder, _PREPEND[field.arg])(field.slot, PYTHON_TYPES.get(field.arg, int)(value), field.default)
        else:
            builder.PrependUOffsetTRelativeSlot(field.slot, offsets[name], 0)
    return Ref(builder.EndObject())


def aligned_bytes(builder: flatbuffers.Builder, data: np.ndarray, alignment: int) -> Ref:
    """A byte vector (``data``: uint8) whose first byte sits at a multiple of ``alignment`` in the buffer, copied
    in at once (a model's constant data, which a runtime may map and read in place)."""
    builder.StartVector(1, data.size, alignment)
    builder.head -= data.size
    builder.Bytes[builder.head:builder.head + data.size] = data.data
    return Ref(builder.EndVector())


def offset_vector(builder: flatbuffers.Builder, offsets: list[int]) -> Ref:
    """A vector of offsets (strings or tables already built)."""
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return Ref(builder.EndVector())


def _child(schema: Schema, builder: flatbuffers.Builder, field: Field, value, values: dict) -> int:
    kind = field.kind
    if kind == "string":
        return builder.CreateString(value)
    if kind == "table":
        return build_table(schema, builder, field.arg, value)
    if kind == "union":
        member = schema.union_member(field.arg, int(values.get(field.name + "_type", 0)))
        if member is None:
            raise ValueError(f"{field.name}: set {field.name}_type to a member of {field.arg} to write its table")
        return build_table(schema, builder, member, value)
    if kind == "scalars":
        return builder.CreateNumpyVector(np.ascontiguousarray(value, dtype=np.dtype(field.arg)).ravel())
    if kind == "strings":
        return offset_vector(builder, [builder.CreateString(v) for v in value])
    if kind == "tables":
        return offset_vector(builder, [v if isinstance(v, Ref) else build_table(schema, builder, field.arg, v)
                                       for v in value])
    raise TypeError(f"{field.name}: cannot write a {kind} field")
