"""Open a ``.tflite`` file: memory-map, verify, and expose its subgraphs with checked indices.

Nothing here builds IR: :class:`TflFile` is the file as TFLite's interpreter
sees it (buffers as numpy views on the mapping, tensors with shape, type and
quantisation, operators with their resolved operator code and options dict).
The whole FlatBuffer is first walked by the bounds-checking verifier shared
with ``.ms`` (:mod:`litert_formats.flatbuf.verify`, driven by this schema's
slot tables) and read by the shared reader; then every index (buffer, tensor, operator code, subgraph) and every
data length is checked here, so the graph builder can trust them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litert.ir import QuantParams

from ..flatbuf.model_file import FileFormat, FileSubGraph, FileTensor, ModelFile, constant_view
from .schema import SCHEMA
from .types import CUSTOM, OPERATOR_NAMES, PLACEHOLDER_FOR_GREATER_OP_CODES, TENSOR_TYPE_NAMES, TENSOR_TYPES


@dataclass(kw_only=True)
class TflTensor(FileTensor):
    TYPE_IDS = TENSOR_TYPES

    shape: tuple[int, ...]
    signature: tuple[int, ...] | None      # shape with -1 for dynamic dims, when the file has it
    is_variable: bool = False


@dataclass
class TflOperator:
    index: int
    code: int                 # BuiltinOperator value
    custom_code: str
    inputs: list[int]         # -1: an omitted optional input
    outputs: list[int]
    options_type: str | None  # the BuiltinOptions member, None when absent
    options: dict = field(default_factory=dict)

    @property
    def op_name(self) -> str:
        if self.code == CUSTOM:
            return f"CUSTOM({self.custom_code})"
        return OPERATOR_NAMES.get(self.code, f"BuiltinOperator#{self.code}")


@dataclass(kw_only=True)
class TflSubGraph(FileSubGraph):
    index: int
    tensors: list[TflTensor]
    operators: list[TflOperator]


class TflFile(ModelFile):
    """A verified ``.tflite`` model."""

    FORMAT = FileFormat(SCHEMA, ".tflite", TENSOR_TYPE_NAMES, "TensorType")

    def _read(self, model: dict) -> None:
        self.version = model["version"]
        if self.version != 3:
            raise self.bad(f"schema version {self.version}; litert reads version 3 (TFL3) files")
        self.description = model["description"] or ""
        self._buffers = model["buffers"] or []
        self.operator_codes = [self._opcode(c) for c in model["operator_codes"] or ()]
        if not model["subgraphs"]:
            raise self.bad("the model has no subgraphs")
        self.subgraphs = [self._subgraph(i, s) for i, s in enumerate(model["subgraphs"])]
        self.signatures = [self._signature(s) for s in model["signature_defs"] or ()]

    @property
    def producer(self) -> str:
        return self.description or "TensorFlow Lite"

    def all_tensors(self) -> list[TflTensor]:
        return [t for s in self.subgraphs for t in s.tensors]

    # -- pieces ---------------------------------------------------------------------

    @staticmethod
    def _opcode(c: dict) -> tuple[int, str]:
        # files written before builtin_code existed keep the code in the deprecated byte only
        code = max(c["builtin_code"], c["deprecated_builtin_code"])
        if c["deprecated_builtin_code"] == PLACEHOLDER_FOR_GREATER_OP_CODES:
            code = c["builtin_code"]
        return code, c["custom_code"] or ""

    def _buffer(self, index: int, where: str) -> np.ndarray | None:
        """Buffer ``index`` as a uint8 view, or None for an empty buffer."""
        if index >= len(self._buffers):
            raise self.bad(f"{where} names buffer {index}, but the file has {len(self._buffers)} buffers")
        buf = self._buffers[index]
        offset, size = buf["offset"], buf["size"]
        if offset > 1:  # data after the FlatBuffer (files over 2 GB keep weights there)
            if offset + size > len(self._map):
                raise self.bad(f"buffer {index} ({size} bytes at byte {offset}) lies outside the "
                               f"{len(self._map)}-byte file")
            return np.frombuffer(self._map, np.uint8, size, offset) if size else None
        data = buf["data"]
        return data if data is not None and data.size else None

    def _indices(self, array, count: int, where: str, optional: bool = False) -> list[int]:
        return self.indices(array, count, where, holder="subgraph", optional=optional)

    def _tensor(self, index: int, t: dict, where: str) -> TflTensor:
        name = t["name"] or ""
        shape = () if t["shape"] is None else tuple(t["shape"].tolist())
        signature = None if t["shape_signature"] is None else tuple(t["shape_signature"].tolist())
        tensor = TflTensor(index=index, name=name, type_id=t["type"], shape=shape, signature=signature,
                           is_variable=t["is_variable"])
        if signature is not None and len(signature) != len(shape):
            raise self.bad(f"{where} tensor {index} ({name!r}): shape_signature {list(signature)} does not match "
                           f"shape {list(shape)}")
        if t["sparsity"] is not None:
            raise self.bad(f"{where} tensor {index} ({name!r}) is sparse, which litert does not read")
        raw = self._buffer(t["buffer"], f"{where} tensor {index} ({name!r})")
        if raw is not None:
            dtype = self.data_type(tensor, f"{where} tensor {index} ({name!r})")
            tensor.data = constant_view(raw, dtype, shape, f"{self.path}: {where} tensor {index} ({name!r})", "shape")
        tensor.quant = self._quant(t["quantization"], tensor, where)
        return tensor

    def _quant(self, q: dict | None, tensor: TflTensor, where: str) -> QuantParams | None:
        if q is None or q["scale"] is None or q["scale"].size == 0:
            return None
        if q["details_type"] != 0:
            raise self.bad(f"{where} tensor {tensor.index} ({tensor.name!r}) uses custom quantisation, "
                           "which litert does not read")
        scale = np.array(q["scale"], np.float32)
        zero = np.zeros(scale.shape, np.int64) if q["zero_point"] is None else np.array(q["zero_point"], np.int64)
        if zero.size != scale.size:
            raise self.bad(f"{where} tensor {tensor.index}: {scale.size} scales but {zero.size} zero points")
        if scale.size == 1:
            return QuantParams(scale, zero, None)
        axis = q["quantized_dimension"]
        if not 0 <= axis < len(tensor.shape) or tensor.shape[axis] != scale.size:
            raise self.bad(f"{where} tensor {tensor.index} ({tensor.name!r}): {scale.size} scales along dimension "
                           f"{axis} of shape {list(tensor.shape)}")
        return QuantParams(scale, zero, axis)

    def _operator(self, index: int, op: dict, ntensors: int, where: str) -> TflOperator:
        where = f"{where} operator {index}"
        opcode = op["opcode_index"]
        if opcode >= len(self.operator_codes):
            raise self.bad(f"{where} names operator code {opcode}, but the file has {len(self.operator_codes)}")
        code, custom = self.operator_codes[opcode]
        member = SCHEMA.union_member("BuiltinOptions", op["builtin_options_type"])
        if member is None and op["builtin_options_type"]:
            raise self.bad(f"{where}: options of unknown type #{op['builtin_options_type']}")
        return TflOperator(index, code, custom, self._indices(op["inputs"], ntensors, f"{where} input", True),
                           self._indices(op["outputs"], ntensors, f"{where} output"), member,
                           op["builtin_options"] or {})

    def _subgraph(self, index: int, s: dict) -> TflSubGraph:
        where = f"subgraph {index}"
        tensors = [self._tensor(i, t, where) for i, t in enumerate(s["tensors"] or ())]
        return TflSubGraph(index=index, name=s["name"] or "", tensors=tensors,
                           inputs=self._indices(s["inputs"], len(tensors), f"{where} input"),
                           outputs=self._indices(s["outputs"], len(tensors), f"{where} output"),
                           operators=[self._operator(i, op, len(tensors), where) for i, op in enumerate(s["operators"] or ())])

    def _signature(self, sig: dict) -> dict:
        index = sig["subgraph_index"]
        if index >= len(self.subgraphs):
            raise self.bad(f"signature {sig['signature_key'] or ''!r} names subgraph {index}")
        return {"key": sig["signature_key"] or "", "subgraph": index}
