"""A FlatBuffers model file as both formats open it: mapped, verified, read, and its constants checked."""
from __future__ import annotations

import math
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from litert.errors import ModelLoadError
from litert.formats import Frontend, LoadOptions
from litert.ir import DType, Graph, Model, QuantParams

from ..reading import translated_model
from .read import read_table
from .schema import Schema
from .verify import VerifyError, verify


@dataclass(kw_only=True)
class FileTensor:
    """A tensor of a FlatBuffers model file as both formats read it: its index, name and type id in the file,
    its constant data (a read-only view on the mapping) and quantisation; ``TYPE_IDS`` (each format's own
    type-id table) gives its dtype."""

    TYPE_IDS: ClassVar[dict[int, DType]]

    index: int
    name: str
    type_id: int
    data: np.ndarray | None = None
    quant: QuantParams | None = None

    @property
    def dtype(self) -> DType | None:
        return self.TYPE_IDS.get(self.type_id)

    @property
    def is_const(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class FileFormat:
    """What the shared code needs to know of a FlatBuffers model format: its schema, the suffix that names
    the file kind (``.ms``: also the frontend's name and extension), its names of its type ids and what it
    calls a type id (``TypeId``, ``TensorType``), for the error on a type litert does not read."""

    schema: Schema
    suffix: str
    type_names: dict[int, str]
    type_word: str


@dataclass(kw_only=True)
class FileSubGraph:
    """A subgraph of a FlatBuffers model file: its name and the tensors it takes and gives, by index."""

    name: str
    inputs: list[int]
    outputs: list[int]


def map_file(path: Path) -> mmap.mmap:
    """A read-only mapping of ``path``; :class:`ModelLoadError` for a missing, empty or unreadable file."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        with open(path, "rb") as f:
            if path.stat().st_size == 0:
                raise ModelLoadError(f"{path}: empty file")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise ModelLoadError(f"{path}: cannot read ({err.strerror or err})") from None


def open_model(path: Path, schema: Schema, kind: str) -> tuple[mmap.mmap, dict]:
    """The mapping of ``path`` and its root table, read after the verifier accepted the whole file
    (``kind``: the file type the error names, ``.ms``...)."""
    mapping = map_file(path)
    try:
        root = verify(mapping, schema).root()
    except VerifyError as err:
        raise ModelLoadError(f"{path}: not a valid {kind} file ({err})") from None
    return mapping, read_table(schema, mapping, root, schema.root)


class FlatBufferFrontend(Frontend):
    """A frontend for a FlatBuffers format, which it recognises by its schema's file identifier (bytes 4 to 8).
    :meth:`load` opens the format's :class:`ModelFile`, builds the graph, then describes the file: a subclass
    names the file class and its graph builder and gives :meth:`metadata`; its name and extension are the file
    format's suffix."""

    file_class: ClassVar[type[ModelFile]]
    #: the format's graph builder: (the opened file, options) -> the IR graph
    build_graph: ClassVar[staticmethod[[Any, LoadOptions], Graph]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.file_class.FORMAT.suffix.lstrip(".")
        cls.extensions = (cls.file_class.FORMAT.suffix,)

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 8 and head[4:8] == self.file_class.FORMAT.schema.file_identifier

    def load(self, path: Path, options: LoadOptions) -> Model:
        model_file = self.file_class(path)
        return translated_model(self.build_graph(model_file, options), self.name, model_file.producer,
                                self.metadata(model_file))

    def metadata(self, model_file: Any) -> dict[str, str]:
        """What ``litert info`` shows of the file, keys prefixed by the format's name."""
        raise NotImplementedError


class ModelFile:
    """A verified FlatBuffers model file (``.ms``, ``.tflite``); keeps the mapping open as long as any tensor
    view on it lives.  A subclass names its :class:`FileFormat`, reads the root table in :meth:`_read` and lists
    its tensors in :meth:`all_tensors`."""

    FORMAT: ClassVar[FileFormat]

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._map, root = open_model(self.path, self.FORMAT.schema, self.FORMAT.suffix)
        self._read(root)

    def _read(self, root: dict) -> None:
        raise NotImplementedError

    @property
    def producer(self) -> str:
        """Who made the file, as the model's ``producer`` says it."""
        raise NotImplementedError

    def all_tensors(self) -> Sequence[FileTensor]:
        """Every tensor of the file, of all its subgraphs."""
        raise NotImplementedError

    @property
    def weight_bytes(self) -> int:
        """The bytes of constant data the file holds."""
        return sum(t.data.nbytes for t in self.all_tensors() if t.data is not None)

    def bad(self, message: str) -> ModelLoadError:
        """The error for a file that verified but says something litert cannot take (names the file)."""
        return ModelLoadError(f"{self.path}: {message}")

    def indices(self, array, count: int, where: str, what: str = "tensor", holder: str = "file",
                optional: bool = False) -> list[int]:
        """A vector of indices (None: none) as a list, each naming one of the ``count`` ``what``s the ``holder``
        has (-1 too when ``optional``: an omitted input)."""
        values = [] if array is None else array.tolist()
        for v in values:
            if v >= count or v < (-1 if optional else 0):
                raise self.bad(f"{where} names {what} {v}, but the {holder} has {count} {what}s")
        return values

    def data_type(self, tensor: FileTensor, where: str) -> DType:
        """The dtype of ``tensor``, which holds data; an error naming ``where`` for a type litert does not read."""
        if tensor.dtype is None:
            kind = self.FORMAT.type_names.get(tensor.type_id, f"{self.FORMAT.type_word} {tensor.type_id}")
            raise self.bad(f"{where} has data of type {kind}, which litert does not read")
        return tensor.dtype


def constant_view(raw: np.ndarray, dtype: DType, dims: tuple[int, ...], where: str, dims_word: str) -> np.ndarray:
    """A constant's ``raw`` bytes (a uint8 view on the mapping) as ``dims`` of ``dtype``, still a view;
    :class:`ModelLoadError` naming ``where`` when the dims are negative or disagree with the byte count."""
    if any(d < 0 for d in dims):
        raise ModelLoadError(f"{where}: a constant with negative {dims_word} {list(dims)}")
    count = math.prod(dims)
    if count * dtype.itemsize != raw.size:
        raise ModelLoadError(f"{where}: {raw.size} data bytes for {dims_word} {list(dims)} of {dtype} "
                             f"({count * dtype.itemsize} expected)")
    return raw.view(dtype.numpy).reshape(dims)
