"""Write the litert IR as a ``.ms`` file MindSpore Lite 2.0.0 loads (:class:`MsSerializer`).

Steps, on a copy of the graph: constant DequantizeLinear nodes become the
integer weights with their parameters, fused contrib operators are split back
into ONNX ones and Identity nodes dropped (core passes); shapes are inferred;
convolution, pooling, LRN and batch norm are rewritten channels-last (:mod:`.nhwc`), with 4-D model inputs NHWC unless
``input_format="NCHW"``; a ReLU/ReLU6 after a convolution is fused into it
(``activation_type``, as converter_lite does); every node is lowered to
MindSpore Lite primitives (:data:`.write_ops.WRITERS`); the FlatBuffer is
built with the generic builder (:mod:`litert_formats.flatbuf.build`): tensors (int64 narrowed to int32,
as converter_lite does; constant data 16-byte aligned), nodes, one main
subgraph, and the MetaGraph with version "litert <version>" (the producer;
MindSpore Lite does not read it) and file identifier ``MSL2``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import flatbuffers
import numpy as np

from litert.atomic import write_bytes
from litert.convert import WEIGHT_FP16_KEY
from litert.errors import InvalidModelError, LitertError, UnsupportedOperatorError
from litert.formats import Serializer
from litert.ir import DType, Graph, Model, Node, QuantParams, Value
from litert.passes.fusion import unfuse
from litert.passes.qdq import quantised_constants
from litert.passes.simplify import drop_identities
from litert.schema.inference import infer_shapes

from ..flatbuf.build import Ref, aligned_bytes, build_table
from ..writing import lowering_errors, write_errors
from . import nhwc
from .integer import activation_kind, dynamic_products, integer_products
from .schema import SCHEMA
from .types import FMK_TYPES, MS_VERSION, NODE_CNODE, NODE_VALUE, TYPE_ID_OF, Format, QuantType, narrowed
from .write_ops import WRITERS

#: the key of ``Model.metadata`` that picks the layout of 4-D inputs (``litert convert --input-format``)
INPUT_FORMAT_KEY = "ms.input_format"
#: FlatBuffers offsets are 32-bit: leave room for the graph itself
MAX_FLATBUFFER_BYTES = 2**31 - 2**24
DATA_ALIGNMENT = 16
_TAGS = {name: tag for tag, name in enumerate(SCHEMA.unions["PrimitiveType"])}
_FMK_ONNX = next(code for code, name in FMK_TYPES.items() if name == "ONNX")


@dataclass
class MsOp:
    primitive: str
    attrs: dict
    inputs: list[str]
    outputs: list[str]
    name: str
    #: CNode.quantType when the writer says it (dynamic quantisation), else from the tensors
    quant_type: int | None = None


@dataclass
class Lowering:
    """What the operator writers see: the prepared graph and an ``emit`` for primitives."""

    graph: Graph
    ops: list[MsOp] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    _count: int = 0
    _names: set = field(default_factory=set)

    # -- values -------------------------------------------------------------------

    def value(self, name: str) -> Value:
        return self.graph.values.get(name) or self.graph.value(name)

    def const_of(self, name: str) -> np.ndarray | None:
        value = self.graph.values.get(name) if name else None
        return None if value is None else value.const

    def scalar(self, name: str) -> float | None:
        data = self.const_of(name)
        return None if data is None or data.size != 1 else float(data.reshape(-1)[0])

    def shape(self, name: str):
        value = self.graph.values.get(name)
        return None if value is None else value.shape

    def rank(self, name: str, node: Node) -> int:
        shape = self.shape(name)
        if shape is None:
            raise self.unsupported(node, f"an input ({name!r}) of unknown rank")
        return len(shape)

    def const(self, array, base: str, quant: QuantParams | None = None) -> str:
        array = np.asarray(array)
        name = self.graph.unique_name(base)
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array, quant=quant)
        return name

    def fresh(self, base: str) -> str:
        return self.graph.unique_name(base)

    # -- primitives ---------------------------------------------------------------

    def emit(self, primitive: str, attrs: dict, inputs: list[str], outputs: list[str] | None, node: Node) -> list[str]:
        self._count += 1
        outputs = outputs if outputs is not None else [self.fresh(f"{node.name or primitive}_{self._count}")]
        name = node.name or primitive
        if name in self._names:  # one IR node may become several primitives: node names stay unique
            name = f"{name}_{self._count}"
        self._names.add(name)
        self.ops.append(MsOp(primitive, attrs, list(inputs), list(outputs), name))
        return outputs

    def alias(self, out: str, source: str, node: Node) -> None:
        """``out`` is ``source`` (an Identity, a one-input Sum...)."""
        self.aliases[out] = source

    def unsupported(self, node: Node, what: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"node {node.name!r} ({node.qualified_op}): {what} cannot be written as a MindSpore Lite primitive",
            node=node.name, op_type=node.op_type, domain=node.domain)


# ---------------------------------------------------------------- graph preparation


def _fuse_activations(graph: Graph) -> None:
    """Conv (channels-last) + Relu / Clip(0, 6) / Clip(0) -> activation_type (:func:`.integer.activation_kind`),
    as converter_lite writes it."""
    users: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for i in node.inputs:
            users.setdefault(i, []).append(node)
    dropped = set()
    for node in graph.nodes:
        if node.domain != nhwc.NHWC_DOMAIN or node.op_type != "Conv" or node.outputs[0] in graph.outputs:
            continue
        consumers = users.get(node.outputs[0], [])
        kind = activation_kind(graph, consumers[0]) if len(consumers) == 1 else None
        if kind is None:
            continue
        node.attrs["ms_activation"] = kind
        node.outputs = [consumers[0].outputs[0]]
        dropped.add(id(consumers[0]))
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]


def _infer(graph: Graph) -> None:
    """The core's shape rules, then the element type of any output they leave out, taken from the node's
    first input."""
    infer_shapes(graph)
    for node in graph.nodes:
        first = graph.values.get(node.inputs[0]) if node.inputs and node.inputs[0] else None
        for out in node.outputs:
            if out and graph.value(out).dtype is None and first is not None:
                graph.values[out].dtype = first.dtype
    infer_shapes(graph)


def prepare(model: Model, input_format: str) -> Graph:
    graph = model.graph.copy()
    quantised_constants(graph)
    unfuse(graph)
    drop_identities(graph)
    _infer(graph)
    nhwc.to_channels_last(graph, input_format)
    _infer(graph)
    _fuse_activations(graph)
    integer_products(graph)
    dynamic_products(graph)
    return graph


def lower(graph: Graph) -> Lowering:
    ctx = Lowering(graph)
    for node in graph.nodes:
        if any(True for _ in node.subgraphs()):
            raise ctx.unsupported(node, "control flow (a subgraph attribute)")
        writer = WRITERS.get((node.domain, node.op_type))
        if writer is None:
            raise ctx.unsupported(node, "this operator")
        writer(ctx, node)
    _resolve_aliases(ctx)
    return ctx


def _resolve_aliases(ctx: Lowering) -> None:
    def root(name: str) -> str:
        seen = set()
        while name in ctx.aliases and name not in seen:
            seen.add(name)
            name = ctx.aliases[name]
        return name

    graph = ctx.graph
    for out in list(ctx.aliases):
        src = root(out)
        produced = any(src in op.outputs for op in ctx.ops)
        if out in graph.outputs and produced and src not in graph.outputs:
            for op in ctx.ops:  # the producer writes the output name directly
                op.outputs = [out if o == src else o for o in op.outputs]
                op.inputs = [out if i == src else i for i in op.inputs]
            ctx.aliases = {k: (out if v == src else v) for k, v in ctx.aliases.items() if k != out}
        elif out in graph.outputs:
            raise UnsupportedOperatorError(f"output {out!r} is a copy of {src!r}, which MindSpore Lite cannot express",
                                           node=out, op_type="Identity")
        else:
            for op in ctx.ops:
                op.inputs = [src if i == out else i for i in op.inputs]


# ---------------------------------------------------------------- FlatBuffer


def _dims(value: Value) -> list[int] | None:
    if value.shape is None:
        return None
    if value.const is not None:
        return [int(d) for d in value.const.shape]
    return [d if isinstance(d, int) else -1 for d in value.shape]


def _const_bytes(value: Value, fp16: bool = False) -> np.ndarray:
    data = np.asarray(value.const)
    if fp16 and data.dtype == np.float32:
        data = data.astype(np.float16)
    if data.dtype == np.int64:
        info = np.iinfo(np.int32)
        data = np.clip(data, info.min, info.max).astype(np.int32)
    elif data.dtype == np.uint64:
        data = data.astype(np.uint32)
    if data.dtype.byteorder == ">":
        data = data.astype(data.dtype.newbyteorder("<"))
    return np.ascontiguousarray(data).reshape(-1).view(np.uint8)


class _Emitter:
    def __init__(self, ctx: Lowering, name: str, weight_fp16: bool = False) -> None:
        self.ctx = ctx
        #: float32 constants written as float16 (converter_lite's ``--fp16=on``)
        self.weight_fp16 = weight_fp16
        self.graph = ctx.graph
        self.name = name
        self.index: dict[str, int] = {}
        self.order: list[str] = []
        self.formats = nhwc.formats(self.graph)

    def tensor(self, name: str) -> int:
        if name not in self.index:
            if name not in self.graph.values:
                raise InvalidModelError(f"value {name!r} is read but never defined")
            self.index[name] = len(self.order)
            self.order.append(name)
        return self.index[name]

    def build(self) -> bytearray:
        graph, ctx = self.graph, self.ctx
        for name in graph.inputs:
            self.tensor(name)
        for op in ctx.ops:
            for n in op.inputs + op.outputs:
                if n:
                    self.tensor(n)
        for name in graph.outputs:
            self.tensor(name)
        data_bytes = sum(c.nbytes for c in (graph.values[n].const for n in self.order) if c is not None)
        estimate = data_bytes + 4096 + 256 * (len(self.order) + len(ctx.ops))
        if estimate > MAX_FLATBUFFER_BYTES:
            raise LitertError(f"the model's {data_bytes} weight bytes do not fit one .ms FlatBuffer "
                              "(MindSpore Lite keeps such weights in external data, which litert does not write)")
        builder = flatbuffers.Builder(estimate)
        tensors = [self._tensor(builder, n) for n in self.order]
        nodes = [self._node(builder, op) for op in ctx.ops]
        inputs = np.array([self.index[n] for n in graph.inputs], np.uint32)
        outputs = np.array([self.index[n] for n in graph.outputs], np.uint32)
        subgraph = build_table(SCHEMA, builder, "SubGraph", {
            "name": "subgraph_0_main_graph", "inputIndices": inputs, "outputIndices": outputs,
            "nodeIndices": np.arange(len(nodes), dtype=np.uint32),
            "tensorIndices": np.arange(len(self.order), dtype=np.uint32)})
        root = build_table(SCHEMA, builder, "MetaGraph", {
            "name": self.name, "version": MS_VERSION, "fmkType": _FMK_ONNX, "inputIndex": inputs,
            "outputIndex": outputs, "nodes": nodes, "allTensors": tensors, "subGraph": [subgraph]})
        builder.Finish(root, file_identifier=SCHEMA.file_identifier)
        return builder.Output()

    def _tensor(self, builder: flatbuffers.Builder, name: str) -> Ref:
        value = self.graph.values[name]
        dtype = value.dtype or (DType.from_numpy(value.const.dtype) if value.const is not None else None)
        if dtype is None:
            raise InvalidModelError(f"value {name!r} has no known type (shape inference could not tell)")
        fp16 = self.weight_fp16 and value.is_const and dtype == DType.FLOAT32
        type_id = TYPE_ID_OF.get(DType.FLOAT16 if fp16 else narrowed(dtype))
        if type_id is None:
            raise UnsupportedOperatorError(f"value {name!r} is {dtype}, which a .ms tensor cannot hold", node=name)
        data = aligned_bytes(builder, _const_bytes(value, fp16), DATA_ALIGNMENT) if value.is_const else None
        dims = _dims(value)
        return build_table(SCHEMA, builder, "Tensor", {
            "nodeType": NODE_VALUE if value.is_const else NODE_CNODE, "dataType": type_id,
            "dims": np.array(dims, np.int32) if dims is not None else None,
            "format": self.formats.get(name, Format.NHWC), "data": data,
            "quantParams": self._quant(value.quant, dtype) if value.quant is not None else None, "name": name})

    @staticmethod
    def _quant(quant: QuantParams, dtype: DType) -> list[dict]:
        scales = np.ravel(quant.scale)
        zeros = np.broadcast_to(np.ravel(quant.zero_point), scales.shape)
        bits = 8 * dtype.itemsize  # int8 weights and activations, int16 weights, an int32 bias
        return [{"scale": float(s), "zeroPoint": int(z), "inited": True, "numBits": bits} for s, z in zip(scales, zeros)]

    def _quant_type(self, op: MsOp) -> int:
        """QUANT_ALL for a node reading an integer activation with quantisation parameters (full
        quantisation; QuantDTypeCast too, as converter_lite marks it), QUANT_WEIGHT for one reading only
        integer constants with them (weight quantisation), else QUANT_NONE."""
        kind = QuantType.QUANT_NONE
        for name in op.inputs + op.outputs:
            value = self.graph.values.get(name)
            if value is None or value.quant is None or value.dtype is None or value.dtype.numpy.kind not in "iu":
                continue
            if value.const is None:
                return QuantType.QUANT_ALL
            kind = QuantType.QUANT_WEIGHT
        return kind

    def _node(self, builder: flatbuffers.Builder, op: MsOp) -> Ref:
        tag = _TAGS.get(op.primitive)
        if tag is None:  # pragma: no cover - the writers name schema tables only
            raise InvalidModelError(f"unknown primitive {op.primitive}")
        primitive = build_table(SCHEMA, builder, "Primitive", {"value_type": tag, "value": op.attrs})
        return build_table(SCHEMA, builder, "CNode", {
            "name": op.name, "primitive": primitive,
            "inputIndex": np.array([self.index[i] for i in op.inputs], np.uint32),
            "outputIndex": np.array([self.index[o] for o in op.outputs], np.uint32),
            "quantType": self._quant_type(op) if op.quant_type is None else op.quant_type})


def to_bytes(model: Model, input_format: str | None = None, weight_fp16: bool | None = None) -> bytearray:
    """The ``.ms`` FlatBuffer of ``model``; ``weight_fp16`` None: as ``model.metadata`` says."""
    fmt = (input_format or model.metadata.get(INPUT_FORMAT_KEY) or "NHWC").upper()
    if fmt not in ("NHWC", "NCHW"):
        raise InvalidModelError(f"input format {fmt!r}: NHWC or NCHW")
    if weight_fp16 is None:
        weight_fp16 = model.metadata.get(WEIGHT_FP16_KEY, "off") == "on"
    graph = prepare(model, fmt)
    ctx = lower(graph)
    return _Emitter(ctx, model.graph.name or "", weight_fp16).build()


class MsSerializer(Serializer):
    """``.ms`` for MindSpore Lite 2.0.0; 4-D inputs NHWC by default (converter_lite's ``input_format``)."""

    name = "ms"
    extensions = (".ms",)

    def __init__(self, input_format: str | None = None) -> None:
        self.input_format = input_format

    def save(self, model: Model, path: Path) -> None:
        path = Path(path)
        with lowering_errors(".ms"):
            data = to_bytes(model, self.input_format)
        with write_errors(path):
            write_bytes(path, data)  # type: ignore[arg-type]  # a bytearray: written as it is, no copy


__all__ = ["MsSerializer", "to_bytes", "INPUT_FORMAT_KEY"]
