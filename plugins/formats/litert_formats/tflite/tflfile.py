"""Open a ``.tflite`` file: memory-map, verify, and expose its subgraphs with checked indices.

Nothing here builds IR: :class:`TflFile` is the file as TFLite's interpreter
sees it (buffers as numpy views on the mapping, tensors with shape, type and
quantisation, operators with their resolved operator code and options dict).
The whole FlatBuffer is first walked by the bounds-checking verifier shared
with ``.ms`` (:mod:`litert_formats.ms.verify`, driven by this schema's
layout); then every index (buffer, tensor, operator code, subgraph) and every
data length is checked here, so the graph builder can trust them.
"""
from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from litert.errors import ModelLoadError
from litert.ir import DType, QuantParams

from ..ms import tables
from ..ms.verify import VerifyError, verify
from .schema import layout
from .types import CUSTOM, OPERATOR_NAMES, PLACEHOLDER_FOR_GREATER_OP_CODES, TENSOR_TYPE_NAMES, TENSOR_TYPES

_PACKAGE = "litert_formats.tflite.schema"


@dataclass
class TflTensor:
    index: int
    name: str
    type_id: int
    shape: tuple[int, ...]
    signature: tuple[int, ...] | None      # shape with -1 for dynamic dims, when the file has it
    data: np.ndarray | None = None          # a read-only view on the mapped file
    quant: QuantParams | None = None
    is_variable: bool = False

    @property
    def dtype(self) -> DType | None:
        return TENSOR_TYPES.get(self.type_id)

    @property
    def is_const(self) -> bool:
        return self.data is not None


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


@dataclass
class TflSubGraph:
    index: int
    name: str
    tensors: list[TflTensor]
    inputs: list[int]
    outputs: list[int]
    operators: list[TflOperator]


def _wrap(table: str, buf, pos: int):
    obj = getattr(tables.module(table, _PACKAGE), table)()
    obj.Init(buf, pos)
    return obj


class TflFile:
    """A verified ``.tflite`` model; keeps the mapping open as long as any tensor view lives."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._map = _map_file(self.path)
        try:
            verifier = verify(self._map, layout)
            root = verifier.root()
        except VerifyError as err:
            raise ModelLoadError(f"{self.path}: not a valid .tflite file ({err})") from None
        model = _wrap("Model", self._map, root)
        self.version = model.Version()
        if self.version != 3:
            raise self.bad(f"schema version {self.version}; litert reads version 3 (TFL3) files")
        self.description = _text(model.Description())
        self._buffers = [model.Buffers(i) for i in range(model.BuffersLength())]
        self.operator_codes = [self._opcode(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
        if model.SubgraphsLength() == 0:
            raise self.bad("the model has no subgraphs")
        self.subgraphs = [self._subgraph(i, model.Subgraphs(i)) for i in range(model.SubgraphsLength())]
        self.signatures = [self._signature(model.SignatureDefs(i)) for i in range(model.SignatureDefsLength())]

    def bad(self, message: str) -> ModelLoadError:
        return ModelLoadError(f"{self.path}: {message}")

    # -- pieces ---------------------------------------------------------------------

    def _opcode(self, c) -> tuple[int, str]:
        # files written before builtin_code existed keep the code in the deprecated byte only
        code = max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode()))
        if c.DeprecatedBuiltinCode() == PLACEHOLDER_FOR_GREATER_OP_CODES:
            code = int(c.BuiltinCode())
        return code, _text(c.CustomCode())

    def _buffer(self, index: int, where: str) -> np.ndarray | None:
        """Buffer ``index`` as a uint8 view, or None for an empty buffer."""
        if index >= len(self._buffers):
            raise self.bad(f"{where} names buffer {index}, but the file has {len(self._buffers)} buffers")
        buf = self._buffers[index]
        offset, size = int(buf.Offset()), int(buf.Size())
        if offset > 1:  # data after the FlatBuffer (files over 2 GB keep weights there)
            if offset + size > len(self._map):
                raise self.bad(f"buffer {index} ({size} bytes at byte {offset}) lies outside the "
                               f"{len(self._map)}-byte file")
            return np.frombuffer(self._map, np.uint8, size, offset) if size else None
        if buf.DataIsNone() or buf.DataLength() == 0:
            return None
        return buf.DataAsNumpy()

    def _indices(self, array, count: int, where: str, optional: bool = False) -> list[int]:
        if isinstance(array, int):  # the generated accessor returns 0 for an absent vector
            return []
        values = [int(v) for v in array]
        for v in values:
            if v >= count or v < (-1 if optional else 0):
                raise self.bad(f"{where} names tensor {v}, but the subgraph has {count} tensors")
        return values

    def _tensor(self, index: int, t, where: str) -> TflTensor:
        name = _text(t.Name())
        shape = () if t.ShapeIsNone() else tuple(int(d) for d in t.ShapeAsNumpy())
        signature = None if t.ShapeSignatureIsNone() else tuple(int(d) for d in t.ShapeSignatureAsNumpy())
        tensor = TflTensor(index, name, int(t.Type()), shape, signature, is_variable=bool(t.IsVariable()))
        if signature is not None and len(signature) != len(shape):
            raise self.bad(f"{where} tensor {index} ({name!r}): shape_signature {list(signature)} does not match "
                           f"shape {list(shape)}")
        if t.Sparsity() is not None:
            raise self.bad(f"{where} tensor {index} ({name!r}) is sparse, which litert does not read")
        raw = self._buffer(int(t.Buffer()), f"{where} tensor {index} ({name!r})")
        if raw is not None:
            dtype = tensor.dtype
            if dtype is None:
                kind = TENSOR_TYPE_NAMES.get(tensor.type_id, f"TensorType {tensor.type_id}")
                raise self.bad(f"{where} tensor {index} ({name!r}) has data of type {kind}, which litert does not read")
            if any(d < 0 for d in shape):
                raise self.bad(f"{where} constant tensor {index} ({name!r}) has negative dims {list(shape)}")
            count = math.prod(shape)
            if count * dtype.itemsize != raw.size:
                raise self.bad(f"{where} tensor {index} ({name!r}): {raw.size} data bytes for shape {list(shape)} "
                               f"of {dtype} ({count * dtype.itemsize} expected)")
            tensor.data = raw.view(dtype.numpy).reshape(shape)
        tensor.quant = self._quant(t.Quantization(), tensor, where)
        return tensor

    def _quant(self, q, tensor: TflTensor, where: str) -> QuantParams | None:
        if q is None or q.ScaleIsNone() or q.ScaleLength() == 0:
            return None
        if q.DetailsType() != 0:
            raise self.bad(f"{where} tensor {tensor.index} ({tensor.name!r}) uses custom quantisation, "
                           "which litert does not read")
        scale = np.array(q.ScaleAsNumpy(), np.float32)
        zero = np.zeros(scale.shape, np.int64) if q.ZeroPointIsNone() else np.array(q.ZeroPointAsNumpy(), np.int64)
        if zero.size != scale.size:
            raise self.bad(f"{where} tensor {tensor.index}: {scale.size} scales but {zero.size} zero points")
        if scale.size == 1:
            return QuantParams(scale, zero, None)
        axis = int(q.QuantizedDimension())
        if not 0 <= axis < len(tensor.shape) or tensor.shape[axis] != scale.size:
            raise self.bad(f"{where} tensor {tensor.index} ({tensor.name!r}): {scale.size} scales along dimension "
                           f"{axis} of shape {list(tensor.shape)}")
        return QuantParams(scale, zero, axis)

    def _operator(self, index: int, op, ntensors: int, where: str) -> TflOperator:
        where = f"{where} operator {index}"
        opcode = int(op.OpcodeIndex())
        if opcode >= len(self.operator_codes):
            raise self.bad(f"{where} names operator code {opcode}, but the file has {len(self.operator_codes)}")
        code, custom = self.operator_codes[opcode]
        member = tables.union_member_of(layout.UNIONS, "BuiltinOptions", int(op.BuiltinOptionsType()))
        options = {}
        if member is not None:
            value = op.BuiltinOptions()
            options = tables.read_table(_wrap(member, value.Bytes, value.Pos), member, layout.TABLES)
        elif op.BuiltinOptionsType():
            raise self.bad(f"{where}: options of unknown type #{op.BuiltinOptionsType()}")
        return TflOperator(index, code, custom, self._indices(op.InputsAsNumpy(), ntensors, f"{where} input", True),
                           self._indices(op.OutputsAsNumpy(), ntensors, f"{where} output"), member, options)

    def _subgraph(self, index: int, s) -> TflSubGraph:
        where = f"subgraph {index}"
        ntensors = s.TensorsLength()
        tensors = [self._tensor(i, s.Tensors(i), where) for i in range(ntensors)]
        return TflSubGraph(index, _text(s.Name()), tensors,
                           self._indices(s.InputsAsNumpy(), ntensors, f"{where} input"),
                           self._indices(s.OutputsAsNumpy(), ntensors, f"{where} output"),
                           [self._operator(i, s.Operators(i), ntensors, where) for i in range(s.OperatorsLength())])

    def _signature(self, sig) -> dict:
        index = int(sig.SubgraphIndex())
        if index >= len(self.subgraphs):
            raise self.bad(f"signature {_text(sig.SignatureKey())!r} names subgraph {index}")
        return {"key": _text(sig.SignatureKey()), "subgraph": index}


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
