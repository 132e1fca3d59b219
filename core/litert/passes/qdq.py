"""QDQ folding: ``DequantizeLinear -> Conv/Gemm/MatMul [-> Relu/Clip] -> QuantizeLinear`` groups become one
integer operator (QLinearConv, com.microsoft QGemm, QLinearMatMul), as onnxruntime does with QDQ models.

The quantised weight then stays int8 in memory (constant folding would otherwise turn its
DequantizeLinear into a float32 constant) and the product runs on integer kernels.  It runs as a lowering
pass, before folding.  A group folds only when the result is the same computation:

- the activation, weight and output are read through per-tensor (weight: per output channel, on the
  channel axis) DequantizeLinear/QuantizeLinear with constant parameters;
- a bias is an int32 DequantizeLinear with zero point 0 and scale ``x_scale * w_scale`` (what quantisers
  write), or absent;
- a Relu or Clip (constant bounds) between the product and its QuantizeLinear is absorbed only when the
  output's saturation does exactly what it does (Relu: the output zero point is the lowest integer; Clip
  to [lo, hi]: lo quantises to the lowest integer or below, hi to the highest or above, as a range
  calibrated after a ReLU6 does);
- the intermediate float tensors have no other reader and are no graph outputs.

:func:`quantised_constants` is the rewrite for a writer whose format stores a quantised weight as the integer
tensor with its parameters (``.ms``): each constant's DequantizeLinear goes, its output becomes that tensor;
:func:`activation_params` reads an activation's parameters off its QDQ node and :func:`quant_through_moves`
gives them to the int8 tensors data movement makes from it, for a format whose tensors carry them.
"""
from __future__ import annotations

import numpy as np

from ..ir import DType, Graph, Model, Node, QuantParams, Value
from .base import Pass, PassContext, PassResult, const_of, has_op

CONTRIB = "com.microsoft"


#: (q input, scale, zero point, axis) of a constant-parameter DequantizeLinear
DequantizeParams = tuple[str, np.ndarray, np.ndarray, int]


def _dequantize_const_params(graph: Graph, node: Node | None) -> DequantizeParams | None:
    """(q input, scale, zero point, axis) of a DequantizeLinear with constant scale and zero point."""
    if node is None or node.op_type != "DequantizeLinear" or node.domain or node.attrs.get("block_size"):
        return None
    if len(node.inputs) < 3 or not node.inputs[2]:
        return None
    scale, zero = const_of(graph, node.inputs[1]), const_of(graph, node.inputs[2])
    if scale is None or zero is None or node.attrs.get("output_dtype") not in (None, 0, 1):
        return None
    if scale.dtype != np.float32:
        return None
    return node.inputs[0], scale, zero, int(node.attrs.get("axis", 1))


class QdqFolding(Pass):
    """Fold each foldable DequantizeLinear -> product -> QuantizeLinear group into one integer operator."""

    name = "qdq_folding"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        if not has_op(graph, "DequantizeLinear"):
            return result  # every group starts at one: no use maps for a float model
        producers = graph.producers()
        consumers = graph.consumers()
        removed: set[int] = set()
        replacements: dict[int, Node] = {}
        for node in graph.nodes:
            if node.domain or node.op_type not in _FOLDERS or id(node) in removed:
                continue
            folded = _fold(graph, node, producers, consumers)
            if folded is None:
                continue
            new_node, dropped = folded
            replacements[id(node)] = new_node
            removed.update(id(n) for n in dropped)
            result.record(f"{node.op_type}->{new_node.op_type}")
        if not result.changes:
            return result
        kept_outputs = {o for new in replacements.values() for o in new.outputs}
        for old in graph.nodes:
            if id(old) in removed or id(old) in replacements:
                for name in old.outputs:
                    if name not in kept_outputs:
                        graph.values.pop(name, None)
        graph.nodes = [replacements.get(id(n), n) for n in graph.nodes if id(n) not in removed]
        _drop_unread_dequantize(graph)
        return result


def _fold(graph: Graph, node: Node, producers: dict[str, Node], consumers: dict[str, list[Node]]
          ) -> tuple[Node, list[Node]] | None:
    op = node.op_type
    if len(node.inputs) < 2 or any(node.outputs[0] == o for o in graph.outputs):
        return None
    x = _dequantize_const_params(graph, producers.get(node.inputs[0]))
    w_dq = producers.get(node.inputs[1])
    w = _dequantize_const_params(graph, w_dq)
    if x is None or w is None or x[1].size != 1 or x[2].size != 1:
        return None
    if const_of(graph, w[0]) is None or w[0] in graph.inputs:
        return None
    x_q, x_scale, x_zero, _ = x
    w_q, w_scale, w_zero, w_axis = w
    weight = const_of(graph, w_q)
    if weight is None or w_dq is None:
        return None
    if w_scale.size > 1 and _normal_axis(w_axis, weight.ndim) != _channel_axis(node, weight.ndim):
        return None
    if np.any(w_zero != 0) and w_scale.size > 1:
        return None
    # the output: [Relu/Clip ->] QuantizeLinear, each the single reader
    tail, dropped = node.outputs[0], list[Node]()
    reader = _only_reader(graph, consumers, tail)
    relu = None
    if reader is not None and reader.op_type in ("Relu", "Clip") and not reader.domain:
        relu, tail = reader, reader.outputs[0]
        reader = _only_reader(graph, consumers, tail)
    if reader is None or reader.op_type != "QuantizeLinear" or reader.domain or len(reader.inputs) < 3:
        return None
    y_scale, y_zero = const_of(graph, reader.inputs[1]), const_of(graph, reader.inputs[2])
    if y_scale is None or y_zero is None or y_scale.size != 1 or y_zero.size != 1:
        return None
    if reader.attrs.get("output_dtype") or reader.attrs.get("precision") or reader.attrs.get("saturate", 1) != 1:
        return None
    if relu is not None and not _saturation_clips(graph, relu, y_scale, y_zero):
        return None
    bias = None
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = _int32_bias(graph, producers.get(node.inputs[2]), x_scale, w_scale)
        if bias is None:
            return None
    dropped += [n for n in (relu, reader) if n is not None]
    attrs = {k: v for k, v in node.attrs.items()}
    y_s, y_z = reader.inputs[1], reader.inputs[2]
    x_s, x_z = producers[node.inputs[0]].inputs[1], producers[node.inputs[0]].inputs[2]
    w_s, w_z = w_dq.inputs[1], w_dq.inputs[2]
    name = node.name or reader.name
    if op == "Conv":
        inputs = [x_q, x_s, x_z, w_q, w_s, w_z, y_s, y_z] + ([bias] if bias else [])
        return Node("QLinearConv", inputs, [reader.outputs[0]], attrs, name=name), dropped
    if op == "MatMul":
        if bias is not None or weight.ndim != 2:
            return None
        return Node("QLinearMatMul", [x_q, x_s, x_z, w_q, w_s, w_z, y_s, y_z], [reader.outputs[0]], name=name), dropped
    # Gemm: plain (alpha = beta = 1, A not transposed), the bias a vector
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        return None
    inputs = [x_q, x_s, x_z, w_q, w_s, w_z, bias or "", y_s, y_z]
    gemm_attrs = {"transB": int(attrs.get("transB", 0))}
    return Node("QGemm", inputs, [reader.outputs[0]], gemm_attrs, name=name, domain=CONTRIB), dropped


def _saturation_clips(graph: Graph, activation: Node, y_scale: np.ndarray, y_zero: np.ndarray) -> bool:
    """Whether quantising saturates at least as much as the Relu/Clip before it clips, so that the
    activation can go: quantisation is monotonic, so ``Q(clip(x, lo, hi)) == Q(x)`` for every x exactly
    when ``Q(lo)`` is the type's lowest integer (or lower) and ``Q(hi)`` its highest (or higher)."""
    lo, hi = 0.0, np.inf
    if activation.op_type == "Clip":
        bounds = [activation.attrs.get("min"), activation.attrs.get("max")]
        for i, name in enumerate(activation.inputs[1:3]):
            if name:
                value = const_of(graph, name)
                if value is None or value.size != 1:
                    return False
                bounds[i] = float(value.reshape(()))
        lo = -np.inf if bounds[0] is None else float(bounds[0])
        hi = np.inf if bounds[1] is None else float(bounds[1])
    info = np.iinfo(y_zero.dtype)
    scale, zero = np.float32(y_scale.reshape(())), int(y_zero.reshape(()))

    def quantised(v: float) -> float:
        return float(np.rint(np.float32(v) / scale)) + zero if np.isfinite(v) else v

    return quantised(lo) <= info.min and quantised(hi) >= info.max


def _normal_axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _channel_axis(node: Node, rank: int) -> int:
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        return 0 if node.attrs.get("transB", 0) else 1
    return rank - 1


def _only_reader(graph: Graph, consumers: dict[str, list[Node]], name: str) -> Node | None:
    users = consumers.get(name, [])
    return users[0] if len(users) == 1 and name not in graph.outputs else None


def _int32_bias(graph: Graph, node: Node | None, x_scale: np.ndarray, w_scale: np.ndarray) -> str | None:
    params = _dequantize_const_params(graph, node)
    if params is None:
        return None
    q, scale, zero, _ = params
    values = const_of(graph, q)
    if values is None or values.dtype != np.int32 or values.ndim != 1 or np.any(zero != 0):
        return None
    expected = np.float32(x_scale.reshape(())) * w_scale.astype(np.float32).reshape(-1)
    # allclose(rtol=1e-5, atol=0) without its generality: ~50 us a call, a fifth of an int8 model's optimisation
    # (a non-finite scale compares False here and the group stays unfolded)
    if not (np.abs(scale.reshape(-1) - expected) <= 1e-5 * np.abs(expected)).all():
        return None
    return q


def _drop_unread_dequantize(graph: Graph) -> None:
    """DequantizeLinear nodes of folded groups that nothing reads any more (their int inputs stay)."""
    while True:
        read = {name for node in graph.nodes for name in node.reads()} | set(graph.outputs)
        dead = [n for n in graph.nodes if n.op_type == "DequantizeLinear" and not n.domain
                and n.outputs[0] not in read]
        if not dead:
            return
        dead_ids = {id(n) for n in dead}
        for node in dead:
            graph.values.pop(node.outputs[0], None)
        graph.nodes = [n for n in graph.nodes if id(n) not in dead_ids]


_FOLDERS = ("Conv", "Gemm", "MatMul")


def quantised_constants(graph: Graph) -> None:
    """``DequantizeLinear`` of a constant integer tensor (constant scale and zero point, not blocked, not a graph
    output) -> the integer tensor with its :class:`QuantParams` under the DequantizeLinear's output name, in
    place (the axis kept only for per-channel parameters)."""
    kept = []
    for node in graph.nodes:
        q, scale, zero = (graph.values.get(n) if n else None for n in (node.inputs + ["", "", ""])[:3])
        if (node.op_type != "DequantizeLinear" or node.domain or q is None or q.const is None
                or q.const.dtype.kind not in "iu" or scale is None or scale.const is None
                or (zero is not None and zero.const is None) or node.outputs[0] in graph.outputs
                or node.attrs.get("block_size")):
            kept.append(node)
            continue
        scales = np.ravel(scale.const).astype(np.float32)
        zeros = np.zeros(scales.shape, np.int32) if zero is None or zero.const is None \
            else np.ravel(zero.const).astype(np.int32)
        axis = int(node.attrs.get("axis", 1)) % q.const.ndim if scales.size > 1 else None
        out = node.outputs[0]
        graph.values[out] = Value(out, DType.from_numpy(q.const.dtype), tuple(q.const.shape), const=q.const,
                                  quant=QuantParams(scales, zeros, axis))
    graph.nodes = kept


#: the integer element types of activation tensors
_INT8 = (np.int8, np.uint8)


def activation_params(graph: Graph, node: Node) -> QuantParams | None:
    """Per-tensor constant (scale, zero point) of an activation QuantizeLinear/DequantizeLinear, else None."""
    if node.domain or node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.inputs) < 2:
        return None
    data = graph.values.get(node.inputs[0])
    if data is None or data.const is not None:
        return None
    scale = graph.values.get(node.inputs[1])
    zero = graph.values.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if scale is None or scale.const is None or scale.const.size != 1:
        return None
    if zero is not None and (zero.const is None or zero.const.size != 1 or zero.const.dtype.type not in _INT8):
        return None
    zp = np.zeros(1, np.int32) if zero is None or zero.const is None else zero.const.reshape(1).astype(np.int32)
    return QuantParams(scale.const.reshape(1).astype(np.float32), zp)


#: ops that only move int8 values (a layout Transpose among them): their output has the input's parameters
_MOVES = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze")


def quant_through_moves(graph: Graph) -> None:
    """The output of each data-movement op reading an int8 activation with per-tensor parameters gets them too
    (when it has none), in place."""
    for node in graph.nodes:  # topological order: a chain of moves is covered in one sweep
        if node.domain or node.op_type not in _MOVES or not node.inputs or not node.outputs:
            continue
        source, out = graph.values.get(node.inputs[0]), graph.values.get(node.outputs[0])
        if source is None or out is None or source.quant is None or source.const is not None \
                or source.dtype not in (DType.INT8, DType.UINT8) or out.quant is not None:
            continue
        if np.size(source.quant.scale) == 1:
            out.quant = source.quant
