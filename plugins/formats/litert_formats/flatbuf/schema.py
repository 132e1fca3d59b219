"""A FlatBuffers schema as slot tables: what the reader, builder and verifier walk.

The generated module of a format passes plain data (see ``tools/mslite/gen_schema.py``):
a table is a tuple of fields in slot order (slot i is field id i, at vtable
offset ``4 + 2 * i``), each ``(name, kind)`` or ``(name, kind, arg)`` or
``(name, kind, arg, default)``.  Kinds:

* ``scalar`` (``arg``: the ``struct`` format, ``default``: the schema default, 0 when left out),
* ``string``, ``table`` (``arg``: the table), ``union`` (``arg``: the union; its ubyte tag is the
  slot before, a ``scalar`` named ``<name>_type``),
* ``scalars``, ``strings``, ``tables``: vectors of those (``arg`` as for one element),
* ``deprecated``: a slot no reader, builder or verifier touches (flatc's code skips them too).
"""
from __future__ import annotations

import struct
from typing import Any, NamedTuple

KINDS = ("scalar", "string", "table", "union", "scalars", "strings", "tables", "deprecated")
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

    def __init__(self, root: str, file_identifier: bytes, tables: dict[str, tuple], unions: dict[str, tuple],
                 enums: dict[str, dict[str, int]]) -> None:
        self.root = root
        self.file_identifier = file_identifier
        self.tables: dict[str, tuple[Field, ...]] = {}
        for name, fields in tables.items():
            self.tables[name] = tuple(_field(slot, entry, name) for slot, entry in enumerate(fields))
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


def _field(slot: int, entry: tuple, table: str) -> Field:
    field = Field(slot, *entry)
    if field.kind not in KINDS:
        raise ValueError(f"{table}.{field.name}: unknown field kind {field.kind!r}")
    if field.kind == "scalar":
        return field._replace(default=PYTHON_TYPES.get(field.arg, int)(field.default))
    return field
