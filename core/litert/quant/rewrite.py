"""Rewrite a float graph into its quantised form, in ONNX's QDQ style (what onnxruntime's quantiser writes).

- weights: an int8 (int16 above 8 bits) constant, symmetric and narrow-range (MindSpore Lite's weight
  format), per output channel or per tensor, read through ``DequantizeLinear``;
- FULL_QUANT adds ``QuantizeLinear``/``DequantizeLinear`` pairs on the activations entering and leaving
  each quantised Conv/Gemm/MatMul (int8, asymmetric, per tensor) and stores its bias as int32 with scale
  ``input scale x weight scale``;
- DYNAMIC_QUANT turns MatMul/Gemm with a constant weight into ``DynamicQuantizeLinear`` +
  ``MatMulInteger`` and a rescale, so activations are quantised at run time (ALWC: activation per
  layer, weight per channel).

The CPU backend folds the QDQ groups into integer kernels (:mod:`litert.passes.qdq`); onnxruntime does
the same with its own.  :func:`dynamic_chains` finds DYNAMIC_QUANT's chains again (onnxruntime writes the same
ones), for a writer whose format stores each as one dynamically quantised product (``.ms``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..ir import Dim, DType, Graph, Node, Value

#: ops whose weight (input index) can be quantised, with the axis of its output channels
QUANTISABLE = ("Conv", "Gemm", "MatMul")
#: single-consumer activations a quantised op's output passes through before its QuantizeLinear
_TAIL_ACTIVATIONS = ("Relu", "Clip")


@dataclass
class Plan:
    """What one quantisable node gets: its activation input, weight, bias and (full quant) output tensor."""

    node: Node
    activation: str
    weight: str
    weight_axis: int | None
    bias: str | None
    output: str


@dataclass
class RewriteReport:
    """Per-tensor quantisation parameters written (what ``quant_param.csv`` lists)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: quantised layers: (node label, op type, float output tensor, how to read it in the quantised graph)
    layers: list[tuple[str, str, str, QuantisedTensor | None]] = field(default_factory=list)


@dataclass(frozen=True)
class QuantisedTensor:
    """An int8 tensor of the quantised graph and how it dequantises (full quantisation's layer outputs)."""

    name: str
    scale: float
    zero_point: int


def node_label(node: Node) -> str:
    return node.name or f"{node.op_type}({node.outputs[0]})"


def plan_nodes(graph: Graph, skip: frozenset[str]) -> list[Plan]:
    """The nodes to quantise: Conv/Gemm/MatMul in the default domain with a constant weight."""
    consumers = graph.consumers()
    plans = []
    for node in graph.nodes:
        if node.domain or node.op_type not in QUANTISABLE or node.name in skip or len(node.inputs) < 2:
            continue
        weight = graph.values.get(node.inputs[1])
        if weight is None or weight.const is None or weight.const.dtype != np.float32:
            continue
        axis = _weight_axis(node, weight.const)
        bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
        if bias is not None and not _bias_fits(node, graph, bias, weight.const, axis):
            bias = None
        output = node.outputs[0]
        users = consumers.get(output, [])
        if len(users) == 1 and users[0].op_type in _TAIL_ACTIVATIONS and not users[0].domain \
                and output not in graph.outputs:
            output = users[0].outputs[0]
        plans.append(Plan(node, node.inputs[0], node.inputs[1], axis, bias, output))
    return plans


def _weight_axis(node: Node, weight: np.ndarray) -> int | None:
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        return 0 if node.attrs.get("transB", 0) else 1
    return 1 if weight.ndim == 2 else None  # MatMul: columns of a 2-D weight


def _bias_fits(node: Node, graph: Graph, bias: str, weight: np.ndarray, axis: int | None) -> bool:
    """A bias can become int32 when it is a constant vector over the output channels (and Gemm is plain)."""
    value = graph.values.get(bias)
    if value is None or value.const is None or value.const.ndim != 1 or axis is None:
        return False
    if node.op_type == "Gemm" and (node.attrs.get("alpha", 1.0) != 1.0 or node.attrs.get("beta", 1.0) != 1.0
                                   or node.attrs.get("transA", 0)):
        return False
    return bool(value.const.size == weight.shape[axis])


def weight_quant_params(weight: np.ndarray, axis: int | None, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric narrow-range quantisation: q = round(w / scale) in [-(2^(bits-1)-1), 2^(bits-1)-1]."""
    qmax = 2 ** (bits - 1) - 1
    if axis is None:
        absmax = np.array([np.abs(weight).max()], np.float64)
    else:
        other = tuple(i for i in range(weight.ndim) if i != axis)
        absmax = np.abs(weight).max(axis=other).astype(np.float64)
    scale = np.where(absmax > 0, absmax / qmax, 1.0).astype(np.float32)
    storage = np.int8 if bits <= 8 else np.int16
    shape = [1] * weight.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(np.rint(weight / scale.reshape(shape)), -qmax, qmax).astype(storage)
    return q, scale


def activation_quant_params(low: float, high: float) -> tuple[np.float32, np.int8]:
    """Asymmetric int8 parameters of the range [low, high] widened to contain 0."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    zero_point = int(np.clip(np.rint(-128 - low / scale), -128, 127))
    return np.float32(scale), np.int8(zero_point)


class Rewriter:
    """Adds constants and Q/DQ nodes to one graph; ``finish`` puts the new nodes in topological order."""

    def __init__(self, graph: Graph, report: RewriteReport):
        self.graph = graph
        self.report = report
        #: node id -> nodes to insert before it
        self.before: dict[int, list[Node]] = {}
        #: node id -> nodes to insert after it
        self.after: dict[int, list[Node]] = {}
        #: float tensor -> its fake-quantised (Q then DQ) copy
        self.qdq: dict[str, str] = {}
        #: float tensor -> its int8 tensor
        self.quantised: dict[str, QuantisedTensor] = {}

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.graph.unique_name(base)
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
        return name

    def add(self, anchor: Node, node: Node) -> None:
        self.before.setdefault(id(anchor), []).append(node)

    def dequantized_const(self, anchor: Node, name: str, q: np.ndarray, scale: np.ndarray, axis: int | None,
                          owner: Node, kind: str) -> str:
        """Replace constant ``name`` by ``DequantizeLinear(q, scale, 0)``; return the dequantised name."""
        per_channel = axis is not None and scale.size > 1
        zero = np.zeros(scale.shape if per_channel else (), q.dtype)
        scale_out = scale if per_channel else scale.reshape(())
        q_name = self.const(f"{name}_quantized", q)
        s_name = self.const(f"{name}_scale", scale_out.astype(np.float32))
        z_name = self.const(f"{name}_zero_point", zero)
        out = self.graph.unique_name(f"{name}_dequantized")
        self.graph.values[out].dtype = DType.FLOAT32
        self.graph.values[out].shape = tuple(q.shape)
        attrs = {"axis": int(axis)} if axis is not None and per_channel else {}
        self.add(anchor, Node("DequantizeLinear", [q_name, s_name, z_name], [out], attrs, name=f"{name}_DequantizeLinear"))
        self.report.rows.append(_row(owner, kind, name, q, scale, zero))
        return out

    def fake_quant(self, anchor: Node, tensor: str, scale: np.float32, zero_point: np.int8, owner: Node,
                   after: Node | None = None, dq_name: str | None = None) -> str:
        """``tensor`` -> QuantizeLinear -> DequantizeLinear (shared by every reader); return the DQ output
        (``dq_name`` when given: a name the graph already holds, e.g. a graph output)."""
        if tensor in self.qdq:
            return self.qdq[tensor]
        s_name = self.const(f"{tensor}_scale", np.array(scale, np.float32))
        z_name = self.const(f"{tensor}_zero_point", np.array(zero_point, np.int8))
        q_name = self.graph.unique_name(f"{tensor}_quantized")
        dq_name = dq_name or self.graph.unique_name(f"{tensor}_dequantized")
        source = self.graph.values.get(tensor)
        shape = source.shape if source is not None else None
        self.graph.values[q_name].dtype, self.graph.values[q_name].shape = DType.INT8, shape
        self.graph.values[dq_name].dtype, self.graph.values[dq_name].shape = DType.FLOAT32, shape
        nodes = [Node("QuantizeLinear", [tensor, s_name, z_name], [q_name], name=f"{tensor}_QuantizeLinear"),
                 Node("DequantizeLinear", [q_name, s_name, z_name], [dq_name], name=f"{tensor}_DequantizeLinear")]
        for node in nodes:
            if after is not None:
                self.after.setdefault(id(after), []).append(node)
            else:
                self.add(anchor, node)
        self.qdq[tensor] = dq_name
        self.quantised[tensor] = QuantisedTensor(q_name, float(scale), int(zero_point))
        self.report.rows.append(_row(owner, "Activation", tensor, None, np.array([scale]), np.array([zero_point]),
                                     shape))
        return dq_name

    def finish(self) -> None:
        ordered = []
        for node in self.graph.nodes:
            ordered.extend(self.before.get(id(node), []))
            ordered.append(node)
            ordered.extend(self.after.get(id(node), []))
        self.graph.nodes = ordered


def _row(node: Node, kind: str, tensor: str, q: np.ndarray | None, scale: np.ndarray, zero: np.ndarray,
         shape: Sequence[Dim] | None = None) -> dict[str, Any]:
    dims = list(q.shape) if q is not None else list(shape or ())
    return {"NodeName": node_label(node), "NodeType": node.op_type, "TensorName": tensor, "Kind": kind,
            "ElementsNum": math.prod(d for d in dims if isinstance(d, int)) if dims and all(isinstance(d, int) for d in dims) else 0,
            "Dims": dims, "Scale": [float(s) for s in np.ravel(scale)],
            "ZeroPoint": [int(z) for z in np.ravel(zero)], "Bits": 8 if q is None else int(q.dtype.itemsize * 8)}


def quantize_weights(graph: Graph, plans: list[Plan], bits: int, per_channel: bool, min_size: int,
                     min_channels: int, report: RewriteReport) -> None:
    """WEIGHT_QUANT: int weights read through DequantizeLinear; activations stay float."""
    rewriter = Rewriter(graph, report)
    for plan in plans:
        weight = graph.values[plan.weight].array
        channels = weight.shape[plan.weight_axis] if plan.weight_axis is not None else 1
        if weight.size <= min_size or channels <= min_channels:
            report.skipped.append(f"{node_label(plan.node)}: weight {list(weight.shape)} is under "
                                  f"min_quant_weight_size={min_size} or min_quant_weight_channel={min_channels}")
            continue
        axis = plan.weight_axis if per_channel else None
        q, scale = weight_quant_params(weight, axis, bits)
        plan.node.inputs[1] = rewriter.dequantized_const(plan.node, plan.weight, q, scale, axis, plan.node, "Weight")
        report.layers.append((node_label(plan.node), plan.node.op_type, plan.output, None))
    rewriter.finish()


def quantize_full(graph: Graph, plans: list[Plan], ranges: dict[str, tuple[float, float]], per_channel: bool,
                  report: RewriteReport) -> None:
    """FULL_QUANT: int8 weights and activations, int32 biases, in QDQ form."""
    rewriter = Rewriter(graph, report)
    producers = graph.producers()
    for plan in plans:
        node = plan.node
        if plan.activation not in ranges or plan.output not in ranges:
            report.skipped.append(f"{node_label(node)}: no calibration statistics for its input or output")
            continue
        x_scale, x_zero = activation_quant_params(*ranges[plan.activation])
        weight = graph.values[plan.weight].array
        axis = plan.weight_axis if per_channel else None
        q, w_scale = weight_quant_params(weight, axis, 8)
        node.inputs[0] = rewriter.fake_quant(node, plan.activation, x_scale, x_zero, node)
        node.inputs[1] = rewriter.dequantized_const(node, plan.weight, q, w_scale, axis, node, "Weight")
        if plan.bias is not None:
            bias = graph.values[plan.bias].array.astype(np.float64)
            b_scale = (np.float64(x_scale) * w_scale.astype(np.float64)) * np.ones(bias.shape)
            b_q = np.clip(np.rint(bias / b_scale), -2**31, 2**31 - 1).astype(np.int32)
            node.inputs[2] = rewriter.dequantized_const(node, plan.bias, b_q, b_scale.astype(np.float32), 0, node,
                                                        "Bias")
        y_scale, y_zero = activation_quant_params(*ranges[plan.output])
        tail = producers[plan.output]
        if plan.output in graph.outputs:
            # a graph output is read through its own Q/DQ pair, as converter_lite (QuantDTypeCast) and
            # onnxruntime's quantiser do: the product stays int8 (a classifier is most of a small CNN's weights)
            produced = _rename_output(graph, tail, plan.output)
            rewriter.fake_quant(node, produced, y_scale, y_zero, node, after=tail, dq_name=plan.output)
            quantised = rewriter.quantised[produced]
        else:
            dq = rewriter.fake_quant(node, plan.output, y_scale, y_zero, node, after=tail)
            _redirect(graph, plan.output, dq, skip_names={f"{plan.output}_QuantizeLinear"})
            quantised = rewriter.quantised[plan.output]
        report.layers.append((node_label(node), node.op_type, plan.output, quantised))
    rewriter.finish()


def _rename_output(graph: Graph, producer: Node, tensor: str) -> str:
    """``producer`` writes ``tensor`` under a fresh name (returned); ``tensor`` is left for a node to produce."""
    fresh = graph.unique_name(f"{tensor}_float")
    old = graph.values[tensor]
    graph.values[fresh].dtype, graph.values[fresh].shape = old.dtype, old.shape
    producer.outputs = [fresh if name == tensor else name for name in producer.outputs]
    return fresh


def _redirect(graph: Graph, tensor: str, replacement: str, skip_names: set[str]) -> None:
    """Readers of ``tensor`` (other than its own QuantizeLinear) read ``replacement``; graph outputs stay."""
    for node in graph.nodes:
        if node.name in skip_names:
            continue
        node.inputs = [replacement if name == tensor else name for name in node.inputs]


def quantize_dynamic(graph: Graph, plans: list[Plan], report: RewriteReport) -> None:
    """DYNAMIC_QUANT: MatMul/Gemm -> DynamicQuantizeLinear + MatMulInteger + rescale (+ bias)."""
    rewriter = Rewriter(graph, report)
    replaced: dict[int, list[Node]] = {}
    for plan in plans:
        node = plan.node
        if node.op_type == "Conv" or (node.op_type == "Gemm" and (
                node.attrs.get("transA", 0) or node.attrs.get("alpha", 1.0) != 1.0
                or node.attrs.get("beta", 1.0) != 1.0)) or plan.weight_axis is None:
            report.skipped.append(f"{node_label(node)}: dynamic quantisation covers MatMul and plain Gemm only")
            continue
        weight = graph.values[plan.weight].array
        if node.op_type == "Gemm" and node.attrs.get("transB", 0):
            weight = np.ascontiguousarray(weight.T)
        q, w_scale = weight_quant_params(weight, 1, 8)
        q_name = rewriter.const(f"{plan.weight}_quantized", q)
        wz_name = rewriter.const(f"{plan.weight}_zero_point", np.zeros(w_scale.shape, np.int8))
        ws_name = rewriter.const(f"{plan.weight}_scale", w_scale)
        report.rows.append(_row(node, "Weight", plan.weight, q, w_scale, np.zeros(w_scale.shape, np.int8)))
        x = plan.activation
        xq, xs, xz = (graph.unique_name(f"{x}_{part}") for part in ("quantized", "scale", "zero_point"))
        acc, acc_f, scale, out = (graph.unique_name(f"{node.outputs[0]}_{part}")
                                  for part in ("int32", "float", "scale", "rescaled"))
        new = [Node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=f"{node_label(node)}_DynamicQuantizeLinear"),
               Node("MatMulInteger", [xq, q_name, xz, wz_name], [acc], name=f"{node_label(node)}_MatMulInteger"),
               Node("Cast", [acc], [acc_f], {"to": DType.FLOAT32.value}, name=f"{node_label(node)}_Cast"),
               Node("Mul", [xs, ws_name], [scale], name=f"{node_label(node)}_Scale")]
        has_bias = node.op_type == "Gemm" and len(node.inputs) > 2 and node.inputs[2]
        new.append(Node("Mul", [acc_f, scale], [out if has_bias else node.outputs[0]],
                        name=f"{node_label(node)}_Rescale"))
        if has_bias:
            new.append(Node("Add", [out, node.inputs[2]], [node.outputs[0]], name=f"{node_label(node)}_Bias"))
        replaced[id(node)] = new
        report.layers.append((node_label(node), node.op_type, node.outputs[0], None))
    graph.nodes = [n for node in graph.nodes for n in replaced.get(id(node), [node])]


class DynamicChain(NamedTuple):
    """One dynamically quantised product, ``DynamicQuantizeLinear(x) -> MatMulInteger(xq, w, xz, 0) ->
    Cast(float) -> Mul(., x_scale * w_scale) [-> Add(bias)]``: its nodes in order, the float activation, the int8
    weight [K, N], the weight's scale per column, the float bias vector (or None) and the output."""

    nodes: list[Node]
    activation: str
    weight: str
    scale: np.ndarray
    bias: str | None
    output: str


def dynamic_chains(graph: Graph) -> list[DynamicChain]:
    """Every chain :func:`quantize_dynamic` writes (and onnxruntime's dynamic quantiser), in graph order, whose
    intermediate tensors nothing else reads: a symmetric (zero point 0) int8 2-D weight, scales per tensor or
    per column, and an Add of a constant vector as the bias."""
    producers = graph.producers()
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    chains = []
    for node in graph.nodes:
        if not node.domain and node.op_type == "MatMulInteger" and len(node.inputs) >= 4:
            chain = _dynamic_chain(graph, node, producers, readers)
            if chain is not None:
                chains.append(chain)
    return chains


def _dynamic_chain(graph: Graph, mm: Node, producers: dict[str, Node],
                   readers: dict[str, list[Node]]) -> DynamicChain | None:
    def only_reader(name: str) -> Node | None:
        users = readers.get(name, [])
        return users[0] if len(users) == 1 and name not in graph.outputs else None

    dql = producers.get(mm.inputs[0])
    weight = graph.values.get(mm.inputs[1])
    w_zero = graph.values.get(mm.inputs[3])
    if dql is None or dql.op_type != "DynamicQuantizeLinear" or dql.domain or len(dql.outputs) != 3 \
            or mm.inputs[2] != dql.outputs[2] or readers.get(dql.outputs[2], []) != [mm] or weight is None \
            or weight.const is None or weight.const.dtype != np.int8 or weight.const.ndim != 2 or w_zero is None \
            or w_zero.const is None or np.any(w_zero.const != 0) or len(readers.get(dql.outputs[0], [])) != 1:
        return None
    cast = only_reader(mm.outputs[0])
    if cast is None or cast.op_type != "Cast" or int(cast.attrs.get("to", 0)) != DType.FLOAT32.value:
        return None
    rescale = only_reader(cast.outputs[0])
    if rescale is None or rescale.op_type != "Mul":
        return None
    scale_name = rescale.inputs[1] if rescale.inputs[0] == cast.outputs[0] else rescale.inputs[0]
    scale_mul = producers.get(scale_name)
    if scale_mul is None or scale_mul.op_type != "Mul" or dql.outputs[1] not in scale_mul.inputs \
            or readers.get(dql.outputs[1], []) != [scale_mul] or len(readers.get(scale_name, [])) != 1:
        return None
    w_scale = graph.values.get(next(i for i in scale_mul.inputs if i != dql.outputs[1]))
    if w_scale is None or w_scale.const is None or np.size(w_scale.const) not in (1, weight.const.shape[1]):
        return None
    nodes, out, bias = [dql, mm, cast, scale_mul, rescale], rescale.outputs[0], None
    add = only_reader(out)
    if add is not None and add.op_type == "Add" and not add.domain:
        other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
        value = graph.values.get(other)
        if value is not None and value.const is not None and value.const.ndim == 1 \
                and value.const.size == weight.const.shape[1]:
            nodes.append(add)
            out, bias = add.outputs[0], other
    scale = np.broadcast_to(np.ravel(w_scale.const), (weight.const.shape[1],))
    return DynamicChain(nodes, dql.inputs[0], weight.name, scale, bias, out)
