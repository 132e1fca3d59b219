"""A bounds-checking FlatBuffers verifier for ``.ms`` files.

The Python ``flatbuffers`` package has no verifier: its generated accessors
follow whatever offsets the bytes contain.  Before any of them touches a
file, :func:`verify` walks the whole ``MetaGraph`` reachable from the root,
guided by the field layout generated from the schema (:mod:`.schema.layout`),
and checks every table, vtable, scalar slot, string, vector length and union
tag against the buffer's size.  After it passes, every accessor the reader
calls reads inside the buffer, and no vector length can make a reader loop
or allocate past the file's size.

Union members whose tag is past the schema's union (a primitive this schema
does not know) are left unverified and reported back; the reader turns them
into :class:`litert.errors.UnsupportedOperatorError` without reading them.
"""
from __future__ import annotations

import struct

from .schema import layout as ms_layout

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")
#: nesting deeper than this is not a model the schema describes (MetaGraph > Tensor > QuantParam is 3)
MAX_DEPTH = 16
#: tables visited, at most; a file may share tables, never in this number
MAX_TABLES = 50_000_000


class VerifyError(ValueError):
    """The bytes break the FlatBuffers layout; the message says where."""


class Verifier:
    """Walks one FlatBuffers file against ``layout``: a generated layout module (``ROOT``,
    ``FILE_IDENTIFIER``, ``TABLES``, ``UNIONS``); the ``.ms`` one by default, TFLite's reuses it."""

    def __init__(self, buf, layout=ms_layout) -> None:
        self.buf = buf
        self.size = len(buf)
        self.layout = layout
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
            raise VerifyError(f"{what}: offset at byte {pos} points to {target}, past the end of the {self.size}-byte file")
        return target

    # -- structure --------------------------------------------------------------

    def root(self) -> int:
        if self.size < 8:
            raise VerifyError(f"{self.size} bytes is too short for a FlatBuffer")
        ident = bytes(self.buf[4:8])
        if ident != self.layout.FILE_IDENTIFIER:
            raise VerifyError(f"file identifier is {ident!r}, not {self.layout.FILE_IDENTIFIER!r}")
        pos = self._deref(0, "root offset")
        self.table(pos, self.layout.ROOT, 0)
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
        fields = self.layout.TABLES[name]
        for slot, (field, kind, _) in enumerate(fields):
            voffset = self._slot(vtable, vt_size, slot)
            if voffset == 0:
                continue
            width = struct.calcsize("<" + kind[1]) if kind[0] == "scalar" else 4
            if voffset < 4 or voffset + width > obj_size:
                raise VerifyError(f"{name}.{field}: slot offset {voffset} outside its {obj_size}-byte table")
            if kind[0] == "scalar":
                continue
            tag = 0
            if kind[0] == "union":  # the tag is the slot before, already checked by this loop
                tag_offset = self._slot(vtable, vt_size, slot - 1)
                tag = self.buf[pos + tag_offset] if tag_offset else 0
            where = f"{name}.{field}"
            self.field(self._deref(pos + voffset, where), kind, where, depth, tag)

    def _slot(self, vtable: int, vt_size: int, slot: int) -> int:
        entry = 4 + 2 * slot
        return _U16.unpack_from(self.buf, vtable + entry)[0] if entry < vt_size else 0

    def field(self, target: int, kind: tuple, where: str, depth: int, union_tag: int = 0) -> None:
        if kind[0] == "table":
            self.table(target, kind[1], depth + 1)
        elif kind[0] == "string":
            length = self.u32(target, where)
            self._need(target + 4, length + 1, f"{where} (string of {length} bytes)")
        elif kind[0] == "union":
            members = self.layout.UNIONS[kind[1]]
            if union_tag == 0:
                raise VerifyError(f"{where}: union value without a type tag")
            if union_tag >= len(members):
                self.unknown_union_members.append((target, union_tag))
                return
            self.table(target, members[union_tag], depth + 1)
        elif kind[0] == "vector":
            length = self.u32(target, where)
            elem = kind[1]
            width = struct.calcsize("<" + elem[1]) if elem[0] == "scalar" else 4
            self._need(target + 4, length * width, f"{where} (vector of {length} x {width} bytes)")
            if elem[0] != "scalar":
                for i in range(length):
                    item = target + 4 + 4 * i
                    self.field(self._deref(item, f"{where}[{i}]"), elem, f"{where}[{i}]", depth)
        else:  # pragma: no cover - the layout generator emits no other kind
            raise VerifyError(f"{where}: unknown field kind {kind}")


def verify(buf, layout=ms_layout) -> Verifier:
    """Check ``buf`` (bytes, mmap, memoryview) as a ``.ms`` MetaGraph (or the root of ``layout``);
    raise :class:`VerifyError`."""
    verifier = Verifier(buf, layout)
    verifier.root()
    return verifier
