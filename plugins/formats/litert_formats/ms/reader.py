"""Read a ``.ms`` file into the litert IR (:class:`MsFrontend`).

Steps: :class:`.msfile.MsFile` maps and verifies the file; :class:`GraphBuilder`
turns the main subgraph's nodes into IR nodes through
:data:`.read_ops.READERS`; constants stay numpy views on the mapping (a
convolution's channels-last weight becomes a transposed view, still no
copy); the Transposes the channels-last operators were wrapped in are then
sunk and cancelled (:mod:`..transposes`).  The model's inputs keep the layout
the file declares: a model converted with MindSpore Lite's default takes
NHWC images, as it does in MindSpore Lite.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from litert.errors import ModelLoadError, UnsupportedOperatorError
from litert.formats import LoadOptions
from litert.ir import DType, Graph, Node, Value
from litert.logs import Log

from .. import transposes
from ..emitter import NodeEmitter
from ..flatbuf.model_file import FlatBufferFrontend
from ..mindspore import enum_name
from ..reading import check_input_shapes, declare_input, histogram_text, malformed_as_load_error, unique_tensor_names
from . import integer_read
from .msfile import MsFile, MsNode
from .read_ops import read_node
from .types import Format, QuantType

log = Log("litert.formats.ms")


class GraphBuilder(NodeEmitter[MsNode]):
    """Names, constants and node emission for the primitive readers."""

    def __init__(self, ms: MsFile, graph: Graph) -> None:
        self.ms = ms
        self.path = ms.path
        self.graph = graph
        self.after: list = []
        #: constant inputs of weight-quantised nodes: stored as integers, read as float
        self.weight_quant = {i for n in ms.nodes if n.quant_type in WEIGHT_QUANT_TYPES for i in n.inputs}
        self.weight_quant |= {i for n in ms.nodes if n.quant_type == QuantType.QUANT_ALL for i in n.inputs
                              if not integer_read.plain_params(ms.tensors[i].quant_raw)}
        #: tensor index -> the IR name it is read or written as while one node is read (full quantisation)
        self.renamed: dict[int, str] = {}
        #: converter_lite's ``--fp16=on`` stores float32 constants as float16 for a graph that computes in
        #: float32: they are widened back at load (a graph with float16 activations keeps them)
        self.widen_fp16 = not any(t.dtype == DType.FLOAT16 and not t.is_const for t in ms.tensors)
        #: per-channel quantised constants: the axis of their channels (the file does not say; the reader does)
        self.channel_axes = channel_axes(ms)
        self.names = unique_tensor_names(ms.tensors)
        for t in ms.tensors:
            self._materialise(t.index)

    # -- values -------------------------------------------------------------------

    def _materialise(self, index: int) -> None:
        """The Value of tensor ``index``; all are made up front, so fresh names never take a tensor's."""
        name = self.names[index]
        t = self.ms.tensors[index]
        axis = self.channel_axes.get(index)
        quant = t.quant if t.quant is None or axis is None else t.quant.replace(axis=axis)
        if index in self.weight_quant and t.data is not None and t.quant_raw and t.data.dtype.kind in "iu":
            data = dequantize(t.data, t.quant_raw, axis)
            self.graph.values[name] = Value(name, DType.FLOAT32, tuple(data.shape), const=data, quant=quant)
        elif t.data is not None and self.widen_fp16 and t.dtype == DType.FLOAT16:
            data = t.data.astype(np.float32)
            self.graph.values[name] = Value(name, DType.FLOAT32, tuple(data.shape), const=data, quant=t.quant)
        elif t.data is not None:
            self.graph.values[name] = Value(name, t.dtype, tuple(t.data.shape), const=t.data, quant=quant)
        else:
            self.graph.values[name] = Value(name, t.dtype, None, quant=t.quant)

    def tensor_name(self, index: int) -> str:
        return self.renamed.get(index, self.names[index])

    def ms_dtype(self, index: int) -> DType | None:
        return self.ms.tensors[index].dtype

    def has_input(self, node: MsNode, i: int) -> bool:
        return i < len(node.inputs)

    def inp(self, node: MsNode, i: int) -> str:
        if i >= len(node.inputs):
            raise ModelLoadError(f"{self.path}: node {node.name!r} ({node.primitive}) needs input {i}, "
                                 f"it has {len(node.inputs)}")
        return self.tensor_name(node.inputs[i])

    def out(self, node: MsNode, i: int) -> str:
        if i >= len(node.outputs):
            raise ModelLoadError(f"{self.path}: node {node.name!r} ({node.primitive}) needs output {i}, "
                                 f"it has {len(node.outputs)}")
        return self.tensor_name(node.outputs[i])

    def const_value(self, node: MsNode, i: int) -> np.ndarray | None:
        if i >= len(node.inputs):
            return None
        return self.ms.tensors[node.inputs[i]].data

    # -- nodes --------------------------------------------------------------------

    def label(self, op: MsNode) -> str:
        return op.name

    def place(self, node: Node, channels_last: bool, data_inputs: list[int]) -> None:
        """Add ``node``; when the data is channels-last, between Transposes to and from NCHW."""
        if channels_last:
            self.channels_first(node, data_inputs)
        else:
            self.graph.nodes.append(node)

    def broadcast_from(self, name: str, axis: int, rank: int) -> str:
        """A constant laid along ``axis..`` reshaped to broadcast against a rank-``rank`` tensor."""
        value = self.graph.values[name]
        if value.const is None:
            raise UnsupportedOperatorError(f"{self.path.name}: a computed scale along axis {axis} is not supported",
                                           node=name)
        trailing = rank - axis - value.const.ndim
        if trailing <= 0:
            return name
        return self.const(value.const.reshape(value.const.shape + (1,) * trailing), f"{name}_b")

    def unsupported(self, node: MsNode, what: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"{self.path.name}: node {node.name!r}: primitive {node.primitive}: {what} is not supported",
            node=node.name, op_type=node.primitive or f"PrimitiveType#{node.tag}", domain="mindspore.lite")


#: CNode.quantType values whose integer weights the kernels dequantise
WEIGHT_QUANT_TYPES = (QuantType.QUANT_WEIGHT, QuantType.WeightQuant, QuantType.QUANT_DYNAMIC)


def channel_axes(ms: MsFile) -> dict[int, int]:
    """Tensor index -> channel axis of the per-channel quantised constants whose reader says where its output
    channels are: MatMulFusion's weight [K, N] (last axis; [N, K] with ``transpose_b``), FullConnection's [N, K]
    and Conv2DFusion's O,H,W,I (first axis).  A square weight is ambiguous by its shape alone."""
    axes: dict[int, int] = {}
    for node in ms.nodes:
        if len(node.inputs) < 2:
            continue
        t = ms.tensors[node.inputs[1]]
        if t.data is None or len(t.quant_raw) < 2:
            continue
        axis = None
        if node.primitive == "MatMulFusion":
            axis = t.data.ndim - (2 if node.attrs.get("transpose_b") else 1)
        elif node.primitive in ("FullConnection", "Conv2DFusion"):
            axis = 0
        if axis is not None and 0 <= axis < t.data.ndim and t.data.shape[axis] == len(t.quant_raw):
            axes[t.index] = axis
    return axes


def dequantize(data: np.ndarray, params: list[dict], axis: int | None = None) -> np.ndarray:
    """``(q - zero_point) * scale``, then converter_lite's bias correction ``* varCorr + meanCorr``,
    per tensor or per channel (along ``axis``, else the first axis whose size is the number of parameters)."""
    scale, zero, var, mean = (np.array([p[k] for p in params], np.float64)
                              for k in ("scale", "zeroPoint", "varCorr", "meanCorr"))
    if len(params) > 1:
        if axis is None or data.shape[axis] != len(params):
            axis = next((a for a, d in enumerate(data.shape) if d == len(params)), None)
        if axis is None:
            raise ModelLoadError(f"{len(params)} quantisation parameters fit no axis of a {list(data.shape)} weight")
        shape = [1] * data.ndim
        shape[axis] = len(params)
        scale, zero, var, mean = (v.reshape(shape) for v in (scale, zero, var, mean))
    return (((data.astype(np.float64) - zero) * scale) * var + mean).astype(np.float32)


def _main_nodes(ms: MsFile) -> tuple[list[int], list[int], list[int]]:
    """(node indices, input tensors, output tensors) of the main graph: subgraph 0 when there are subgraphs."""
    if not ms.subgraphs:
        return list(range(len(ms.nodes))), ms.inputs, ms.outputs
    main = ms.subgraphs[0]
    if len(ms.subgraphs) > 1:
        log.info("%s: %d subgraphs; reading the main one", ms.path, len(ms.subgraphs))
    return main.nodes, main.inputs or ms.inputs, main.outputs or ms.outputs


def build_graph(ms: MsFile, options: LoadOptions) -> Graph:
    graph = Graph(name=Path(ms.path).stem)
    b = GraphBuilder(ms, graph)
    node_ids, inputs, outputs = _main_nodes(ms)
    if not outputs:
        raise ModelLoadError(f"{ms.path}: the model declares no outputs")
    for index in inputs:
        t = ms.tensors[index]
        name = b.tensor_name(index)
        if t.is_const:
            raise ModelLoadError(f"{ms.path}: input tensor {index} ({t.name!r}) is a constant")
        graph.values[name].dtype = t.dtype
        declare_input(graph, options, name, t.dims, nhwc=t.format == Format.NHWC)
    check_input_shapes(options, graph)
    written: set[int] = set(inputs)
    for node_id in node_ids:
        node = ms.nodes[node_id]
        for i in node.inputs:
            t = ms.tensors[i]
            if not t.is_const and i not in written:
                raise ModelLoadError(f"{ms.path}: node {node.name!r} reads tensor {i} ({t.name!r}), "
                                     "which no earlier node writes")
        with malformed_as_load_error(f"{ms.path}: node {node.name!r} ({node.primitive}): malformed attributes or "
                                     "inputs"):
            if node.quant_type == QuantType.QUANT_ALL and node.primitive not in integer_read.CASTS:
                integer_read.read_integer_node(b, node)
            else:
                read_node(b, node)
                for fn in b.after:
                    fn()
        b.after.clear()
        written.update(node.outputs)
    for index in outputs:
        if not ms.tensors[index].is_const and index not in written:
            raise ModelLoadError(f"{ms.path}: output tensor {index} is written by no node")
        graph.outputs.append(b.tensor_name(index))
    transposes.optimize_loaded(graph, ms.path)
    transposes.hoist_above_quantize(graph)
    return graph


def _weight_quant(ms: MsFile) -> str:
    """``litert info``'s line on quantised weights as stored: ``4 tensors int8 8-bit per-channel`` or ``none``."""
    stored = [(t.data, t.quant_raw) for t in ms.tensors if t.is_const and t.quant_raw and t.data is not None]
    kinds = Counter((str(data.dtype), quant[0].get("numBits"), "per-channel" if len(quant) > 1 else "per-tensor")
                    for data, quant in stored if data.dtype.kind in "iu")
    return ", ".join(f"{n} tensor{'s' if n != 1 else ''} {dtype} {bits}-bit {scheme}"
                     for (dtype, bits, scheme), n in kinds.most_common()) or "none"


def _fp16_constants(ms: MsFile) -> str:
    """``litert info``'s line on float16 constants (converter_lite's ``--fp16=on``): how many, read as what."""
    count = sum(1 for t in ms.tensors if t.is_const and t.data is not None and t.dtype == DType.FLOAT16)
    if not count:
        return "none"
    computes_fp16 = any(t.dtype == DType.FLOAT16 and not t.is_const for t in ms.tensors)
    return f"{count} tensor{'s' if count != 1 else ''}, " + ("kept float16" if computes_fp16 else "read as float32")


def primitive_histogram(ms: MsFile) -> Counter:
    return Counter(n.primitive or f"PrimitiveType#{n.tag}" for n in ms.nodes)


class MsFrontend(FlatBufferFrontend):
    """MindSpore Lite ``.ms`` files (FlatBuffers, identifier MSL2)."""

    file_class = MsFile
    build_graph = staticmethod(build_graph)

    def metadata(self, ms: MsFile) -> dict[str, str]:
        layouts = Counter(enum_name(Format, ms.tensors[i].format) for i in ms.inputs)
        metadata = {
            "ms.version": ms.version or "(empty)",
            "ms.fmk_type": f"{ms.fmk_type} ({ms.fmk_name})",
            "ms.primitives": histogram_text(primitive_histogram(ms)),
            "ms.weight_bytes": str(ms.weight_bytes),
            "ms.tensors": str(len(ms.tensors)),
            "ms.nodes": str(len(ms.nodes)),
            "ms.subgraphs": str(len(ms.subgraphs)),
            "ms.input_formats": ", ".join(f"{k} {v}" for k, v in layouts.items()),
            "ms.weight_quant": _weight_quant(ms),
            "ms.fp16_constants": _fp16_constants(ms),
        }
        four_d = [t for t in (ms.tensors[i] for i in ms.inputs) if t.dims is not None and len(t.dims) == 4]
        if four_d:  # written back, the model keeps its input layout unless told otherwise
            metadata["ms.input_format"] = "NHWC" if any(t.format == Format.NHWC for t in four_d) else "NCHW"
        return metadata
