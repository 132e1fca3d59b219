"""Read a verified FlatBuffers table into a ``dict`` by slot, through ``flatbuffers.table.Table``.

Only read tables of a buffer :func:`.verify.verify` has accepted: ``Table``
follows offsets as the bytes give them.  An absent scalar reads as its
schema default, an absent string, table, union or vector as None; vectors of
scalars are numpy views on the buffer (no copy, also for a memory map).
"""
from __future__ import annotations

from flatbuffers import number_types as N
from flatbuffers.table import Table

from .schema import Schema

FLAGS = {"?": N.BoolFlags, "b": N.Int8Flags, "B": N.Uint8Flags, "h": N.Int16Flags, "H": N.Uint16Flags,
         "i": N.Int32Flags, "I": N.Uint32Flags, "q": N.Int64Flags, "Q": N.Uint64Flags, "f": N.Float32Flags,
         "d": N.Float64Flags}


def read_table(schema: Schema, buf, pos: int, table: str) -> dict:
    """Every non-deprecated field of ``table`` at ``pos``, nested tables and union members included
    (a union member past the schema reads as None: the verifier left it unchecked)."""
    tab = Table(buf, pos)
    out: dict = {}
    for field in schema.tables[table]:
        kind = field.kind
        if kind == "deprecated":
            continue
        offset = tab.Offset(field.voffset)
        if kind == "scalar":
            out[field.name] = tab.Get(FLAGS[field.arg], pos + offset) if offset else field.default
        elif not offset:
            out[field.name] = None
        elif kind == "string":
            out[field.name] = _text(tab.String(pos + offset))
        elif kind == "table":
            out[field.name] = read_table(schema, buf, tab.Indirect(pos + offset), field.arg)
        elif kind == "union":
            member = schema.union_member(field.arg, out[field.name + "_type"])
            out[field.name] = read_table(schema, buf, tab.Indirect(pos + offset), member) if member else None
        elif kind == "scalars":
            out[field.name] = tab.GetVectorAsNumpy(FLAGS[field.arg], offset)
        else:
            start = tab.Vector(offset)
            items = [start + 4 * i for i in range(tab.VectorLen(offset))]
            if kind == "strings":
                out[field.name] = [_text(tab.String(item)) for item in items]
            else:
                out[field.name] = [read_table(schema, buf, tab.Indirect(item), field.arg) for item in items]
    return out


def root_position(buf) -> int:
    """Where the root table starts (the uoffset in the first four bytes; verify first)."""
    return Table(buf, 0).Indirect(0)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
