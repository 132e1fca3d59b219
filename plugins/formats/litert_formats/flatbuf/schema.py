"""A FlatBuffers schema as slot tables: what the reader, builder and verifier walk.

The generated module of a format passes plain data (see ``tools/mslite/gen_schema.py``):
a table is one string of its fields in slot order (slot i is field id i, at vtable
offset ``4 + 2 * i``), separated by spaces, each ``name:type`` as in the ``.fbs``
but with a scalar's type as its ``struct`` format.  The field's kind follows from
the type:

* ``scalar``: a ``struct`` format, with ``=default`` when the schema default is not 0 (``top_k:q=1``),
* ``string``; ``union`` (a union's name; its ubyte tag is the slot before, a scalar named
  ``<name>_type``); ``table`` (any other name: the table),
* ``scalars``, ``strings``, ``tables``: vectors of those, the element type in brackets (``dims:[i]``),
* ``deprecated``: ``-``, a slot no reader, builder or verifier touches (flatc's code skips them too).

A union member table without fields (MindSpore Lite's ``Abs``, TFLite's ``AddNOptions``...) has no entry.
"""
from __future__ import annotations

import struct
from typing import Any, NamedTuple

#: struct format -> Python type of the value (int when not listed)
PYTHON_TYPES: dict[str, type] = {"?": bool, "f": float, "d": float}
#: struct format -> bytes of the little-endian value
SCALAR_WIDTHS = {fmt: struct.calcsize("<" + fmt) for fmt in "?bBhHiIqQfd"}


class Field(NamedTuple):
    slot: int
    name: str
    kind: str
    arg: str = ""
    default: Any = 0

    @property
    def voffset(self) -> int:
        """Where the vtable keeps this field's offset (flatc's ``Offset(4 + 2 * id)``)."""
        return 4 + 2 * self.slot

    @property
    def width(self) -> int:
        """Bytes the field takes inside its table: the scalar, or a 32-bit offset."""
        return SCALAR_WIDTHS[self.arg] if self.kind == "scalar" else 4


class Schema:
    """One format's tables, unions (members by tag, ``"NONE"`` first) and enums (member -> value)."""

    def __init__(self, root: str, file_identifier: bytes, tables: dict[str, str], unions: dict[str, tuple],
                 enums: dict[str, dict[str, int]]) -> None:
        self.root = root
        self.file_identifier = file_identifier
        self.tables: dict[str, tuple[Field, ...]] = {}
        for name, fields in tables.items():
            self.tables[name] = tuple(_field(slot, spec, unions) for slot, spec in enumerate(fields.split()))
        for members in unions.values():  # a member table without fields has no entry in the generated module
            for member in members[1:]:
                self.tables.setdefault(member, ())
        self.fields = {name: {f.name: f for f in fields} for name, fields in self.tables.items()}
        self.unions = unions
        self.enums = enums

    def union_member(self, union: str, tag: int) -> str | None:
        """The member table of ``union`` for ``tag``; None for NONE or a tag past the union."""
        members = self.unions[union]
        return members[tag] if 0 < tag < len(members) else None

    def enum_names(self, enum: str) -> dict[int, str]:
        """The inverse of an enum: value -> member name (the first member of a value)."""
        names: dict[int, str] = {}
        for name, value in self.enums[enum].items():
            names.setdefault(value, name)
        return names


def _field(slot: int, spec: str, unions: dict[str, tuple]) -> Field:
    """One ``name:type`` of a table string (see the module docstring)."""
    name, _, ftype = spec.partition(":")
    if ftype == "-":
        return Field(slot, name, "deprecated")
    element, _, default = ftype.strip("[]").partition("=")
    plural = "s" if ftype.startswith("[") else ""
    if element in SCALAR_WIDTHS:
        python_type = PYTHON_TYPES.get(element, int)
        value = default == "True" if python_type is bool else python_type(default or 0)
        return Field(slot, name, "scalar" + plural, element, 0 if plural else value)
    kind = "string" if element == "string" else "union" if element in unions else "table"
    return Field(slot, name, kind + plural, "" if kind == "string" else element)
