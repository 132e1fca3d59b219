"""Open a ``.ms`` file: memory-map, verify, and expose its tensors and nodes with checked indices.

Nothing here builds IR: :class:`MsFile` is the file as MindSpore Lite sees it
(tensors by index with their format and raw data as numpy views on the
mapping, nodes with their primitive name and attribute dict), and every
index, dtype and data length is checked so the graph builder can trust it.
"""
from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from litert.errors import ModelLoadError
from litert.ir import DType, QuantParams

from . import tables
from .types import FMK_TYPES, TYPE_ID_NAMES, TYPE_IDS
from .verify import VerifyError, verify


@dataclass
class MsTensor:
    index: int
    name: str
    type_id: int
    dims: tuple[int, ...] | None
    format: int
    node_type: int
    data: np.ndarray | None = None          # a read-only view on the mapped file, in ``dtype``
    quant: QuantParams | None = None
    quant_raw: list[dict] = field(default_factory=list)
    compress_type: int = 0          # WeightQuantCompressType: 0 = NONE (plain integers)
    huffman: bool = False

    @property
    def dtype(self) -> DType | None:
        return TYPE_IDS.get(self.type_id)

    @property
    def is_const(self) -> bool:
        return self.data is not None


@dataclass
class MsNode:
    index: int
    name: str
    primitive: str | None           # None: a union tag this schema does not know
    tag: int
    attrs: dict
    inputs: list[int]
    outputs: list[int]
    quant_type: int = 0


@dataclass
class MsSubGraph:
    name: str
    inputs: list[int]
    outputs: list[int]
    nodes: list[int]
    tensors: list[int]


class MsFile:
    """A verified ``.ms`` model; keeps the mapping open as long as any tensor view lives."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._map = _map_file(self.path)
        try:
            root = verify(self._map).root()
        except VerifyError as err:
            raise ModelLoadError(f"{self.path}: not a valid .ms file ({err})") from None
        meta = tables.wrap("MetaGraph", self._map, root)
        self.name = _text(meta.Name())
        self.version = _text(meta.Version())
        self.fmk_type = meta.FmkType()
        self.mempool_size = meta.MempoolSize()
        self.tensors = [self._tensor(i, meta.AllTensors(i)) for i in range(meta.AllTensorsLength())]
        self.nodes = [self._node(i, meta.Nodes(i)) for i in range(meta.NodesLength())]
        self.inputs = self._indices(meta.InputIndexAsNumpy(), "MetaGraph.inputIndex")
        self.outputs = self._indices(meta.OutputIndexAsNumpy(), "MetaGraph.outputIndex")
        self.subgraphs = [self._subgraph(meta.SubGraph(i)) for i in range(meta.SubGraphLength())]

    @property
    def fmk_name(self) -> str:
        return FMK_TYPES.get(self.fmk_type, f"unknown ({self.fmk_type})")

    def bad(self, message: str) -> ModelLoadError:
        return ModelLoadError(f"{self.path}: {message}")

    # -- pieces ---------------------------------------------------------------------

    def _indices(self, array, where: str) -> list[int]:
        if isinstance(array, int):  # the generated accessor returns 0 for an absent vector
            return []
        values = [int(v) for v in array]
        for v in values:
            if v >= len(self.tensors):
                raise self.bad(f"{where} names tensor {v}, but the file has {len(self.tensors)} tensors")
        return values

    def _tensor(self, index: int, t) -> MsTensor:
        name = _text(t.Name())
        dims = None if t.DimsIsNone() else tuple(int(d) for d in t.DimsAsNumpy())
        tensor = MsTensor(index, name, t.DataType(), dims, t.Format(), t.NodeType(),
                          compress_type=t.WeightQuantCompressType(), huffman=bool(t.EnableHuffmanCode()))
        if t.ExternalDataLength():
            raise self.bad(f"tensor {index} ({name!r}) keeps its data in an external file, which litert does not read")
        if not t.DataIsNone() and t.DataLength() > 0:
            dtype = tensor.dtype
            if dtype is None:
                kind = TYPE_ID_NAMES.get(tensor.type_id, f"TypeId {tensor.type_id}")
                raise self.bad(f"tensor {index} ({name!r}) has data of type {kind}, which litert does not read")
            raw = t.DataAsNumpy()
            if tensor.compress_type or tensor.huffman:
                raise self.bad(f"tensor {index} ({name!r}) holds compressed weights (WeightQuantCompressType "
                               f"{tensor.compress_type}), which litert does not decode")
            count = math.prod(dims) if dims else 1
            if dims and any(d < 0 for d in dims):
                raise self.bad(f"constant tensor {index} ({name!r}) has negative dims {list(dims)}")
            if count * dtype.itemsize != raw.size:
                raise self.bad(f"tensor {index} ({name!r}): {raw.size} data bytes for dims {list(dims or ())} "
                               f"of {dtype} ({count * dtype.itemsize} expected)")
            tensor.data = raw.view(dtype.numpy).reshape(dims or ())
        for j in range(t.QuantParamsLength()):
            tensor.quant_raw.append(tables.read_table(t.QuantParams(j), "QuantParam"))
        tensor.quant = _quant(tensor.quant_raw)
        return tensor

    def _node(self, index: int, c) -> MsNode:
        name = _text(c.Name()) or f"node_{index}"
        prim = c.Primitive()
        if prim is None:
            raise self.bad(f"node {index} ({name!r}) has no primitive")
        tag = prim.ValueType()
        member = tables.union_member("PrimitiveType", tag)
        attrs = {}
        if member is not None:
            value = prim.Value()
            if value is None:
                raise self.bad(f"node {index} ({name!r}): primitive {member} without its table")
            attrs = tables.read_table(tables.wrap(member, value.Bytes, value.Pos), member)
        where = f"node {index} ({name!r})"
        return MsNode(index, name, member, tag, attrs,
                      self._indices(c.InputIndexAsNumpy(), f"{where} input"),
                      self._indices(c.OutputIndexAsNumpy(), f"{where} output"), c.QuantType())

    def _subgraph(self, s) -> MsSubGraph:
        name = _text(s.Name())
        nodes = [] if isinstance(s.NodeIndicesAsNumpy(), int) else [int(v) for v in s.NodeIndicesAsNumpy()]
        for v in nodes:
            if v >= len(self.nodes):
                raise self.bad(f"subgraph {name!r} names node {v}, but the file has {len(self.nodes)} nodes")
        return MsSubGraph(name, self._indices(s.InputIndicesAsNumpy(), f"subgraph {name!r} input"),
                          self._indices(s.OutputIndicesAsNumpy(), f"subgraph {name!r} output"), nodes,
                          self._indices(s.TensorIndicesAsNumpy(), f"subgraph {name!r} tensor"))


def _map_file(path: Path):
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        with open(path, "rb") as f:
            if path.stat().st_size == 0:
                raise ModelLoadError(f"{path}: empty file")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise ModelLoadError(f"{path}: cannot read ({err.strerror or err})") from None


def _text(raw) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _quant(params: list[dict]) -> QuantParams | None:
    """Per-tensor (one entry) or per-channel along axis 0 (one entry per channel).

    converter_lite's weight quantisation leaves ``inited`` false, so parameters
    count when initialised or when they differ from the schema defaults."""
    if not params or not any(p.get("inited") or p["scale"] != 1.0 or p["zeroPoint"] != 0 for p in params):
        return None
    scale = np.array([p["scale"] for p in params], np.float32)
    zero = np.array([p["zeroPoint"] for p in params], np.int32)
    return QuantParams(scale, zero, axis=0 if len(params) > 1 else None)
