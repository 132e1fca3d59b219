"""TensorFlow's TensorBundle checkpoint (a SavedModel's ``variables/``), read without TensorFlow.

``variables.index`` is a LevelDB-format table (an SSTable: data blocks of
prefix-compressed key/value entries, an index block pointing at them, a
48-byte footer); its keys are checkpoint keys and its values
``BundleEntryProto``s saying where each tensor's bytes are in the
``variables.data-NNNNN-of-NNNNN`` shards.  Every varint, block handle and
tensor extent is bounds-checked before use; a fault is a
:class:`~litert.errors.ModelLoadError` naming the file.  Block checksums are
not verified (the extents are, and a value must parse as its proto).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from litert.errors import ModelLoadError
from litert.limits import numel

from . import saved_model_pb2
from .reader import DTYPES

#: LevelDB's table magic number (the last 8 bytes of the file)
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
#: the checkpoint key of the object graph that maps the SavedModel's objects to checkpoint keys
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_DT_STRING = 7


class _Cursor:
    """Bounds-checked reads over one bytes object."""

    def __init__(self, data: bytes, where: str, start: int = 0, end: int | None = None) -> None:
        self.data, self.where = data, where
        self.pos, self.end = start, len(data) if end is None else end

    def varint(self) -> int:
        value = shift = 0
        for _ in range(10):
            if self.pos >= self.end:
                raise ModelLoadError(f"{self.where}: a varint runs past its block")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise ModelLoadError(f"{self.where}: a varint longer than 10 bytes")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise ModelLoadError(f"{self.where}: {n} bytes at {self.pos} run past the end ({self.end})")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def _block(data: bytes, handle: tuple[int, int], where: str) -> list[tuple[bytes, bytes]]:
    """The entries of the block at ``handle`` (offset, size); its 5-byte trailer must say "not compressed"."""
    offset, size = handle
    if offset < 0 or size < 4 or offset + size + 5 > len(data):
        raise ModelLoadError(f"{where}: a block at {offset} of {size} bytes lies outside the {len(data)}-byte file")
    if data[offset + size] != 0:
        raise ModelLoadError(f"{where}: a compressed block (type {data[offset + size]}); litert reads uncompressed "
                             "TensorBundle tables only")
    restarts = struct.unpack_from("<I", data, offset + size - 4)[0]
    limit = offset + size - 4 - 4 * restarts
    if restarts < 1 or limit < offset:
        raise ModelLoadError(f"{where}: a block with {restarts} restart points in {size} bytes")
    cursor = _Cursor(data, where, offset, limit)
    entries, key = [], b""
    while cursor.pos < limit:
        shared, unshared, value_size = cursor.varint(), cursor.varint(), cursor.varint()
        if shared > len(key):
            raise ModelLoadError(f"{where}: an entry shares {shared} bytes of a {len(key)}-byte key")
        key = key[:shared] + cursor.take(unshared)
        entries.append((key, cursor.take(value_size)))
    return entries


def read_table(path: Path) -> dict[str, bytes]:
    """Every key -> value of an SSTable file (keys decoded as UTF-8)."""
    where = str(path)
    if not path.is_file():
        raise ModelLoadError(f"{where}: no such checkpoint index (a SavedModel keeps it in variables/)")
    data = path.read_bytes()
    if len(data) < FOOTER_SIZE:
        raise ModelLoadError(f"{where}: {len(data)} bytes, too short for a checkpoint index")
    low, high = struct.unpack_from("<II", data, len(data) - 8)
    if (high << 32 | low) != TABLE_MAGIC:
        raise ModelLoadError(f"{where}: not a TensorBundle index (bad table magic)")
    footer = _Cursor(data, where, len(data) - FOOTER_SIZE, len(data) - 8)
    footer.varint(), footer.varint()  # the metaindex block (filters), which litert does not use
    index = (footer.varint(), footer.varint())
    table: dict[str, bytes] = {}
    for _, handle in _block(data, index, where):
        cursor = _Cursor(handle, where)
        for key, value in _block(data, (cursor.varint(), cursor.varint()), where):
            try:
                table[key.decode("utf-8")] = value
            except UnicodeDecodeError:
                raise ModelLoadError(f"{where}: a checkpoint key that is not UTF-8") from None
    return table


class Checkpoint:
    """The tensors of a TensorBundle (``<prefix>.index`` + ``<prefix>.data-*``), read on demand."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = Path(prefix)
        self.index_path = self.prefix.with_name(self.prefix.name + ".index")
        self.entries = read_table(self.index_path)
        header = saved_model_pb2.BundleHeaderProto()
        self._parse(header, self.entries.get("", b""), "the header")
        if header.endianness != saved_model_pb2.BundleHeaderProto.LITTLE:
            raise ModelLoadError(f"{self.index_path}: a big-endian checkpoint")
        if not 1 <= header.num_shards <= 65536:
            raise ModelLoadError(f"{self.index_path}: {header.num_shards} data shards")
        self.num_shards = header.num_shards
        self._shards: dict[int, bytes] = {}

    def _parse(self, message, data: bytes, what: str):
        try:
            message.ParseFromString(data)
        except (DecodeError, RuntimeError, ValueError) as err:
            raise ModelLoadError(f"{self.index_path}: {what} does not parse ({err})") from None
        return message

    def _shard(self, shard: int) -> bytes:
        if not 0 <= shard < self.num_shards:
            raise ModelLoadError(f"{self.index_path}: a tensor in shard {shard} of {self.num_shards}")
        if shard not in self._shards:
            path = self.prefix.with_name(f"{self.prefix.name}.data-{shard:05d}-of-{self.num_shards:05d}")
            if not path.is_file():
                raise ModelLoadError(f"{path}: missing checkpoint data shard")
            self._shards[shard] = path.read_bytes()
        return self._shards[shard]

    def _entry(self, key: str):
        if key not in self.entries or key == "":
            raise ModelLoadError(f"{self.index_path}: no checkpoint entry {key!r}")
        entry = self._parse(saved_model_pb2.BundleEntryProto(), self.entries[key], f"entry {key!r}")
        if entry.slices:
            raise ModelLoadError(f"{self.index_path}: {key!r} is a partitioned (sliced) variable")
        data = self._shard(entry.shard_id)
        if entry.offset < 0 or entry.size < 0 or entry.offset + entry.size > len(data):
            raise ModelLoadError(f"{self.index_path}: {key!r} spans bytes {entry.offset}..{entry.offset + entry.size} "
                                 f"of a {len(data)}-byte shard")
        return entry, data[entry.offset:entry.offset + entry.size]

    def tensor(self, key: str) -> np.ndarray:
        """A numeric tensor, as a read-only numpy array of its shape."""
        entry, raw = self._entry(key)
        dtype = DTYPES.get(entry.dtype)
        if dtype is None:
            raise ModelLoadError(f"{self.index_path}: {key!r} has TensorFlow DataType {entry.dtype}, which litert "
                                 "does not read")
        dims = tuple(int(d.size) for d in entry.shape.dim)
        if any(d < 0 for d in dims):
            raise ModelLoadError(f"{self.index_path}: {key!r} has dims {list(dims)}")
        count = numel(dims)
        if len(raw) != count * dtype.itemsize:
            raise ModelLoadError(f"{self.index_path}: {key!r} holds {len(raw)} bytes for a {list(dims)} {dtype}")
        return np.frombuffer(raw, dtype.numpy).reshape(dims)

    def string_scalar(self, key: str) -> bytes:
        """A scalar string tensor: its length as a varint, a 4-byte checksum of the lengths, then the bytes."""
        entry, raw = self._entry(key)
        if entry.dtype != _DT_STRING or entry.shape.dim:
            raise ModelLoadError(f"{self.index_path}: {key!r} is not a scalar string")
        cursor = _Cursor(raw, f"{self.index_path}: {key!r}")
        length = cursor.varint()
        cursor.take(4)
        return cursor.take(length)

    def object_graph(self):
        """The checkpoint's TrackableObjectGraph (node ids are the SavedModel object graph's)."""
        return self._parse(saved_model_pb2.TrackableObjectGraph(), self.string_scalar(OBJECT_GRAPH_KEY),
                           "the object graph")
