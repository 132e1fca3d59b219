"""Open a ``.ms`` file: memory-map, verify, and expose its tensors and nodes with checked indices.

Nothing here builds IR: :class:`MsFile` is the file as MindSpore Lite sees it
(tensors by index with their format and raw data as numpy views on the
mapping, nodes with their primitive name and attribute dict), and every
index, dtype and data length is checked so the graph builder can trust it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litert.ir import QuantParams

from ..flatbuf.model_file import FileFormat, FileSubGraph, FileTensor, ModelFile, constant_view
from .schema import SCHEMA
from .types import FMK_TYPES, TYPE_ID_NAMES, TYPE_IDS


@dataclass(kw_only=True)
class MsTensor(FileTensor):
    TYPE_IDS = TYPE_IDS

    dims: tuple[int, ...] | None
    format: int
    node_type: int
    quant_raw: list[dict] = field(default_factory=list)
    compress_type: int = 0          # WeightQuantCompressType: 0 = NONE (plain integers)
    huffman: bool = False


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


@dataclass(kw_only=True)
class MsSubGraph(FileSubGraph):
    nodes: list[int]
    tensors: list[int]


class MsFile(ModelFile):
    """A verified ``.ms`` model."""

    FORMAT = FileFormat(SCHEMA, ".ms", TYPE_ID_NAMES, "TypeId")

    def _read(self, meta: dict) -> None:
        self.name = meta["name"] or ""
        self.version = meta["version"] or ""
        self.fmk_type = meta["fmkType"]
        self.mempool_size = meta["mempoolSize"]
        self.tensors = [self._tensor(i, t) for i, t in enumerate(meta["allTensors"] or ())]
        self.nodes = [self._node(i, c) for i, c in enumerate(meta["nodes"] or ())]
        self.inputs = self._indices(meta["inputIndex"], "MetaGraph.inputIndex")
        self.outputs = self._indices(meta["outputIndex"], "MetaGraph.outputIndex")
        self.subgraphs = [self._subgraph(s) for s in meta["subGraph"] or ()]

    @property
    def producer(self) -> str:
        return self.version or "MindSpore Lite"

    def all_tensors(self) -> list[MsTensor]:
        return self.tensors

    @property
    def fmk_name(self) -> str:
        return FMK_TYPES.get(self.fmk_type, f"unknown ({self.fmk_type})")

    # -- pieces ---------------------------------------------------------------------

    def _indices(self, array, where: str, count: int | None = None, what: str = "tensor") -> list[int]:
        return self.indices(array, len(self.tensors) if count is None else count, where, what)

    def _tensor(self, index: int, t: dict) -> MsTensor:
        name = t["name"] or ""
        dims = None if t["dims"] is None else tuple(t["dims"].tolist())
        tensor = MsTensor(index=index, name=name, type_id=t["dataType"], dims=dims, format=t["format"],
                          node_type=t["nodeType"], compress_type=t["weightQuantCompressType"], huffman=bool(t["enableHuffmanCode"]))
        if t["externalData"]:
            raise self.bad(f"tensor {index} ({name!r}) keeps its data in an external file, which litert does not read")
        raw = t["data"]
        if raw is not None and raw.size > 0:
            dtype = self.data_type(tensor, f"tensor {index} ({name!r})")
            if tensor.compress_type or tensor.huffman:
                raise self.bad(f"tensor {index} ({name!r}) holds compressed weights (WeightQuantCompressType "
                               f"{tensor.compress_type}), which litert does not decode")
            tensor.data = constant_view(raw, dtype, dims or (), f"{self.path}: tensor {index} ({name!r})", "dims")
        tensor.quant_raw = t["quantParams"] or []
        tensor.quant = _quant(tensor.quant_raw)
        return tensor

    def _node(self, index: int, c: dict) -> MsNode:
        name = c["name"] or f"node_{index}"
        prim = c["primitive"]
        if prim is None:
            raise self.bad(f"node {index} ({name!r}) has no primitive")
        tag = prim["value_type"]
        member = SCHEMA.union_member("PrimitiveType", tag)
        if member is not None and prim["value"] is None:
            raise self.bad(f"node {index} ({name!r}): primitive {member} without its table")
        where = f"node {index} ({name!r})"
        return MsNode(index, name, member, tag, prim["value"] or {}, self._indices(c["inputIndex"], f"{where} input"),
                      self._indices(c["outputIndex"], f"{where} output"), c["quantType"])

    def _subgraph(self, s: dict) -> MsSubGraph:
        where = f"subgraph {s['name'] or ''!r}"
        return MsSubGraph(name=s["name"] or "", inputs=self._indices(s["inputIndices"], f"{where} input"),
                          outputs=self._indices(s["outputIndices"], f"{where} output"),
                          nodes=self._indices(s["nodeIndices"], where, len(self.nodes), "node"),
                          tensors=self._indices(s["tensorIndices"], f"{where} tensor"))


def _quant(params: list[dict]) -> QuantParams | None:
    """Per-tensor (one entry) or per-channel along axis 0 (one entry per channel).

    converter_lite's weight quantisation leaves ``inited`` false, so parameters
    count when initialised or when they differ from the schema defaults."""
    if not params or not any(p.get("inited") or p["scale"] != 1.0 or p["zeroPoint"] != 0 for p in params):
        return None
    scale = np.array([p["scale"] for p in params], np.float32)
    zero = np.array([p["zeroPoint"] for p in params], np.int32)
    return QuantParams(scale, zero, axis=0 if len(params) > 1 else None)
