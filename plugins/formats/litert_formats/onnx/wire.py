"""Where each graph initializer's ``raw_data`` lies in the bytes of a serialized ``ModelProto``.

protobuf's Python API hands a bytes field out as a new ``bytes`` object, a copy; for a model's weights
that copy is as large as the file, and its first touch (a page fault per 4 KB of fresh memory, ~1.5 us each
on a virtual machine) was a third of reading a 45 MB Inception-v2.  The reader lets large weights be numpy
views of the mapped file instead, and finds them with this walk of the protobuf wire format: the
length-delimited fields ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.name (8) and
raw_data (9), every other field skipped by its length.  protobuf's own rules hold: the initializers of
a graph field that occurs twice are concatenated, and within a tensor the last name and raw_data count.
The walk only locates bytes; the reader checks each tensor it finds against the parsed message (the count,
the name, the length its type and dims need) and copies as before on any difference.
"""
from __future__ import annotations

from collections.abc import Iterator

#: (name, start, end): a tensor's name and the span of its ``raw_data`` (start == end == 0: none)
Span = tuple[bytes, int, int]

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_NAME, _TENSOR_RAW_DATA = 7, 5, 8, 9
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
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


def _length_delimited(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """``(field number, start, end)`` of each length-delimited field of the message at ``pos:end``, the others
    skipped (the one place that knows the wire types)."""
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == _LEN:
            length, pos = _varint(buf, pos)
            yield key >> 3, pos, pos + length
            pos += length
        elif wire == _VARINT:
            _, pos = _varint(buf, pos)
        elif wire == _I64:
            pos += 8
        elif wire == _I32:
            pos += 4
        else:  # groups (deprecated) or not protobuf
            raise ValueError(f"wire type {wire}")
    if pos != end:
        raise ValueError("a field runs past its message")


def _tensor(buf: memoryview, pos: int, end: int) -> Span:
    name, start, stop = b"", 0, 0
    for number, first, last in _length_delimited(buf, pos, end):
        if number == _TENSOR_NAME:
            name = bytes(buf[first:last])
        elif number == _TENSOR_RAW_DATA:
            start, stop = first, last
    return name, start, stop


def initializer_spans(buf: memoryview) -> list[Span] | None:
    """Each main-graph initializer's name and ``raw_data`` span, in the order protobuf parses them; None for
    bytes this walk cannot follow (the reader then copies every tensor, as protobuf gives it)."""
    try:
        spans = []
        for field, graph_start, graph_end in _length_delimited(buf, 0, len(buf)):
            if field == _MODEL_GRAPH:
                for number, start, end in _length_delimited(buf, graph_start, graph_end):
                    if number == _GRAPH_INITIALIZER:
                        spans.append(_tensor(buf, start, end))
        return spans
    except (ValueError, IndexError):
        return None
