"""A serialized ``ModelProto`` without the payloads of its large weights, and where those payloads lie.

protobuf's parser copies every bytes field into memory of its own, and its Python API copies a bytes field
again each time it is read: for a model's weights, two copies as large as the file, whose first touch (a
page fault per 4 KB of fresh memory, ~1.5-2.7 us each on a virtual machine) was most of parsing a model.
For ``litert.load`` the reader parses the bytes :func:`without_weights` gives instead: the file's bytes with
the ``raw_data`` of the main graph's large initializers cut out (the lengths of the messages around them
written anew), and reads those weights from the mapped file, where this walk found them.

The walk follows the protobuf wire format through ModelProto.graph (7) -> GraphProto.initializer (5) ->
TensorProto.dims (1) and raw_data (9); every other field is kept byte for byte, so protobuf parses the rest
of the model exactly as it would the file.  protobuf's rules hold: the initializers of a graph field that
occurs twice are concatenated, a tensor's dims are all its dims fields (packed or not), and of several
``raw_data`` fields the last counts (all are cut).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

#: where a left-out ``raw_data`` lies in the file: (start, end)
Span = tuple[int, int]

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_DIMS, _TENSOR_RAW_DATA = 7, 5, 1, 9
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it: IndexError where ``buf`` ends inside it, ValueError for
    one longer than 10 bytes."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _encoded(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int, int, int, int]]:
    """``(field number, wire type, key start, key end, value start, value end)`` of each field of the message
    at ``pos:end`` (the one place that knows the wire types); a length-delimited value starts after its
    length, which starts at the key's end."""
    while pos < end:
        key_start = pos
        key, pos = read_varint(buf, pos)
        key_end = pos
        wire = key & 7
        if wire == _LEN:
            length, pos = read_varint(buf, pos)
            yield key >> 3, wire, key_start, key_end, pos, pos + length
            pos += length
        elif wire == _VARINT:
            _, pos = read_varint(buf, pos)
            yield key >> 3, wire, key_start, key_end, key_end, pos
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
            yield key >> 3, wire, key_start, key_end, key_end, pos
        else:  # groups (deprecated) or not protobuf
            raise ValueError(f"wire type {wire}")
    if pos != end:
        raise ValueError("a field runs past its message")


def _int64(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def _tensor(buf: memoryview, start: int, end: int) -> tuple[list[int], list[tuple[int, int, int]]]:
    """A TensorProto's dims and its ``raw_data`` fields as (field start, payload start, end)."""
    dims: list[int] = []
    raws = []
    for number, wire, key, _, first, last in _fields(buf, start, end):
        if number == _TENSOR_DIMS:
            if wire == _VARINT:
                dims.append(_int64(read_varint(buf, first)[0]))
            elif wire == _LEN:  # packed
                pos = first
                while pos < last:
                    value, pos = read_varint(buf, pos)
                    dims.append(_int64(value))
                if pos != last:
                    raise ValueError("packed dims run past their field")
        elif number == _TENSOR_RAW_DATA and wire == _LEN:
            raws.append((key, first, last))
    return dims, raws


def _rewritten(before: memoryview, content: list) -> list:
    """The bytes ``before`` a length-delimited field's length (ending with its key), its new length, and the
    ``content`` it now holds, as pieces."""
    return [before, _encoded(sum(map(len, content))), *content]


def _graph(buf: memoryview, start: int, end: int, leave_out: Callable[[list[int]], bool], smallest: int,
           held: list[Span | None]) -> list | None:
    """The pieces of the GraphProto at ``start:end`` without the raw_data ``leave_out`` picks (by the tensor's
    dims) of tensors of ``smallest`` bytes or more, or None when it keeps all; appends each initializer's
    left-out span (None: kept) to ``held``."""
    pieces: list = []
    cursor = start
    for number, wire, _, key_end, first, last in _fields(buf, start, end):
        if number != _GRAPH_INITIALIZER or wire != _LEN:
            continue
        if last - first < smallest:  # not worth a look: kept as it is
            held.append(None)
            continue
        dims, raws = _tensor(buf, first, last)
        if not raws or not leave_out(dims):
            held.append(None)
            continue
        kept, at = [], first
        for field_start, _, field_end in raws:
            kept.append(buf[at:field_start])
            at = field_end
        kept.append(buf[at:last])
        pieces += _rewritten(buf[cursor:key_end], kept)
        cursor = last
        held.append(raws[-1][1:])
    if cursor == start:
        return None
    pieces.append(buf[cursor:end])
    return pieces


def without_weights(buf: memoryview, leave_out: Callable[[list[int]], bool], smallest: int = 0
                    ) -> tuple[bytes | memoryview, list[Span | None]] | None:
    """The ModelProto ``buf`` without the ``raw_data`` of each main-graph initializer of ``smallest`` bytes or
    more whose dims ``leave_out`` picks, and per initializer, in the order protobuf parses them, where its
    left-out ``raw_data`` lies in ``buf`` (None: kept in).  ``buf`` itself when nothing is left out; None for
    bytes this walk cannot follow (the reader then parses them as they are)."""
    try:
        held: list[Span | None] = []
        pieces: list = []
        cursor = 0
        for number, wire, _, key_end, first, last in _fields(buf, 0, len(buf)):
            if number != _MODEL_GRAPH or wire != _LEN:
                continue
            graph = _graph(buf, first, last, leave_out, smallest, held)
            if graph is not None:
                pieces += _rewritten(buf[cursor:key_end], graph)
                cursor = last
        if not pieces:
            return buf, held
        pieces.append(buf[cursor:])
        return b"".join(pieces), held
    except (ValueError, IndexError):
        return None
