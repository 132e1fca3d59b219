"""A bounds-checking FlatBuffers verifier, driven by a format's :class:`.schema.Schema`.

The Python ``flatbuffers`` package has no verifier: ``Table`` follows
whatever offsets the bytes contain.  Before any reader touches a file,
:func:`verify` walks every table reachable from the root and checks every
table, vtable, scalar slot, string, vector length and union tag against the
buffer's size.  After it passes, every read :func:`.read.read_table` makes
lies inside the buffer, and no vector length can make a reader loop or
allocate past the file's size.

Union members whose tag is past the schema's union (a primitive or options
table this schema does not know) are left unverified and reported back; the
readers never follow them (:func:`.read.read_table` gives None).
"""
from __future__ import annotations

import struct

from .schema import SCALAR_WIDTHS, Field, Schema

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")
#: nesting deeper than this is not a model the schemas describe (MetaGraph > Tensor > QuantParam is 3)
MAX_DEPTH = 16
#: tables visited, at most; a file may share tables, never in this number
MAX_TABLES = 50_000_000


class VerifyError(ValueError):
    """The bytes break the FlatBuffers layout; the message says where."""


class Verifier:
    """Walks one FlatBuffers file against ``schema``."""

    def __init__(self, buf, schema: Schema) -> None:
        self.buf = buf
        self.size = len(buf)
        self.schema = schema
        self.seen: set[tuple[int, str]] = set()
        #: (table position, union tag) of union members past the schema
        self.unknown_union_members: list[tuple[int, int]] = []

    # -- primitive reads ----------------------------------------------------------

    def _need(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size:
            raise VerifyError(f"{what} at byte {pos} (+{length}) lies outside the {self.size}-byte file")

    def u32(self, pos: int, what: str) -> int:
        self._need(pos, 4, what)
        return _U32.unpack_from(self.buf, pos)[0]

    def _deref(self, pos: int, what: str) -> int:
        """The target of the uoffset stored at ``pos``."""
        target = pos + self.u32(pos, what)
        if target >= self.size:
            raise VerifyError(f"{what}: offset at byte {pos} points to {target}, "
                              f"past the end of the {self.size}-byte file")
        return target

    # -- structure --------------------------------------------------------------

    def root(self) -> int:
        if self.size < 8:
            raise VerifyError(f"{self.size} bytes is too short for a FlatBuffer")
        ident = bytes(self.buf[4:8])
        if ident != self.schema.file_identifier:
            raise VerifyError(f"file identifier is {ident!r}, not {self.schema.file_identifier!r}")
        pos = self._deref(0, "root offset")
        self.table(pos, self.schema.root, 0)
        return pos

    def table(self, pos: int, name: str, depth: int) -> None:
        key = (pos, name)
        if key in self.seen:
            return
        if depth > MAX_DEPTH:
            raise VerifyError(f"tables nested deeper than {MAX_DEPTH} at byte {pos}")
        if len(self.seen) >= MAX_TABLES:
            raise VerifyError(f"more than {MAX_TABLES} tables")
        self.seen.add(key)
        self._need(pos, 4, f"{name} table")
        vtable = pos - _I32.unpack_from(self.buf, pos)[0]
        self._need(vtable, 4, f"{name} vtable")
        vt_size, obj_size = _U16.unpack_from(self.buf, vtable)[0], _U16.unpack_from(self.buf, vtable + 2)[0]
        if vt_size < 4 or vt_size % 2:
            raise VerifyError(f"{name} vtable at byte {vtable} has a bad size {vt_size}")
        self._need(vtable, vt_size, f"{name} vtable")
        if obj_size < 4:
            raise VerifyError(f"{name} table at byte {pos} has a bad size {obj_size}")
        self._need(pos, obj_size, f"{name} table")
        for field in self.schema.tables[name]:
            if field.kind == "deprecated":
                continue
            voffset = self._slot(vtable, vt_size, field.slot)
            if voffset == 0:
                continue
            if voffset < 4 or voffset + field.width > obj_size:
                raise VerifyError(f"{name}.{field.name}: slot offset {voffset} outside its {obj_size}-byte table")
            if field.kind == "scalar":
                continue
            tag = 0
            if field.kind == "union":  # the tag is the slot before, already checked by this loop
                tag_offset = self._slot(vtable, vt_size, field.slot - 1)
                tag = self.buf[pos + tag_offset] if tag_offset else 0
            where = f"{name}.{field.name}"
            self.field(self._deref(pos + voffset, where), field, where, depth, tag)

    def _slot(self, vtable: int, vt_size: int, slot: int) -> int:
        entry = 4 + 2 * slot
        return _U16.unpack_from(self.buf, vtable + entry)[0] if entry < vt_size else 0

    def field(self, target: int, field: Field, where: str, depth: int, union_tag: int = 0) -> None:
        kind = field.kind
        if kind == "table":
            self.table(target, field.arg, depth + 1)
        elif kind == "string":
            self._string(target, where)
        elif kind == "union":
            if union_tag == 0:
                raise VerifyError(f"{where}: union value without a type tag")
            member = self.schema.union_member(field.arg, union_tag)
            if member is None:
                self.unknown_union_members.append((target, union_tag))
                return
            self.table(target, member, depth + 1)
        else:  # a vector
            length = self.u32(target, where)
            width = SCALAR_WIDTHS[field.arg] if kind == "scalars" else 4
            self._need(target + 4, length * width, f"{where} (vector of {length} x {width} bytes)")
            for i in range(length if kind != "scalars" else 0):
                item = self._deref(target + 4 + 4 * i, f"{where}[{i}]")
                if kind == "strings":
                    self._string(item, f"{where}[{i}]")
                else:
                    self.table(item, field.arg, depth + 1)

    def _string(self, target: int, where: str) -> None:
        length = self.u32(target, where)
        self._need(target + 4, length + 1, f"{where} (string of {length} bytes)")


def verify(buf, schema: Schema) -> Verifier:
    """Check ``buf`` (bytes, mmap, memoryview) as a file of ``schema``; raise :class:`VerifyError`."""
    verifier = Verifier(buf, schema)
    verifier.root()
    return verifier
