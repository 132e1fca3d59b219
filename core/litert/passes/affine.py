"""Per-channel scales and shifts folded into the op that makes the channels.

Caffe-converted models (DenseNet, Inception-v2 in the ONNX zoo) follow every
convolution and BatchNormalization with a ``Mul`` and an ``Add`` by constant
per-channel vectors (Caffe's ``Scale`` layer).  Both fold exactly:

* ``Conv(x, W, b) * s``  ==>  ``Conv(x, W * s[:, None...], b * s)``
* ``Conv(x, W, b) + t``  ==>  ``Conv(x, W, b + t)``
* ``BatchNormalization(x, g, B, m, v) * s + t``  ==>  ``BatchNormalization(x, g * s, B * s + t, m, v)``

A constant qualifies when it broadcasts along the channel axis (1) only:
after right-aligning it to the output's rank every other dimension is 1.
"""
from __future__ import annotations

import numpy as np

from ..ir import DType, Graph, Model, Node, Value, constant_array
from .base import Pass, PassContext, PassResult, const_of, has_op, read_by_subgraph, single_consumer


def _channel_vector(k: np.ndarray, rank: int, channels: int) -> np.ndarray | None:
    """``k`` as a length-``channels`` vector if it only varies along axis 1 of
    a rank-``rank`` tensor (or is a scalar), else None."""
    if k.dtype != np.float32 or k.ndim > rank:
        return None
    shape = (1,) * (rank - k.ndim) + tuple(k.shape)
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, channels):
        return None
    return np.broadcast_to(k.reshape(-1).astype(np.float64), (channels,))


def _has_constant_mul_or_add(graph: Graph) -> bool:
    """Whether some Mul or Add reads a constant: the only nodes that fold, which most graphs lack (their Adds
    are residual sums); without one the pass builds no use map."""
    values = graph.values
    for node in graph.nodes:
        if node.op_type in ("Mul", "Add") and node.domain == "":
            for name in node.inputs:
                value = values.get(name)
                if value is not None and value.const is not None:
                    return True
    return False


class ChannelAffineFolding(Pass):
    """Conv/BatchNormalization followed by Mul/Add with a per-channel constant."""

    name = "channel_affine_folding"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        changed = has_op(graph, "Conv", "BatchNormalization") and _has_constant_mul_or_add(graph)
        while changed:
            changed = False
            consumers = graph.consumers()
            removed: set[int] = set()
            for node in graph.nodes:
                if id(node) in removed or node.domain != "" or node.op_type not in ("Conv", "BatchNormalization"):
                    continue
                if len([o for o in node.outputs if o]) != 1 or read_by_subgraph(consumers, node.outputs[0]):
                    continue
                user = single_consumer(graph, node.outputs[0], consumers)
                if user is None or user.domain != "" or user.op_type not in ("Mul", "Add") or len(user.inputs) != 2:
                    continue
                other = user.inputs[1] if user.inputs[0] == node.outputs[0] else user.inputs[0]
                k = const_of(graph, other)
                if k is None or other == node.outputs[0] or not self._fold(graph, node, user.op_type, k):
                    continue
                node.outputs = [user.outputs[0]]
                removed.add(id(user))
                result.record(f"{user.op_type} {user.name} into {node.name}")
                changed = True
            graph.nodes = [n for n in graph.nodes if id(n) not in removed]
        return result

    @staticmethod
    def _fold(graph: Graph, node: Node, op: str, k: np.ndarray) -> bool:
        """Rewrite ``node``'s constants so that it also applies ``* k`` or ``+ k``."""
        if node.op_type == "Conv":
            w = const_of(graph, node.inputs[1])
            has_b = len(node.inputs) > 2 and bool(node.inputs[2])
            b = const_of(graph, node.inputs[2]) if has_b else None
            if w is None or w.dtype != np.float32 or (has_b and (b is None or b.dtype != np.float32)):
                return False
            v = _channel_vector(k, w.ndim, w.shape[0])
            if v is None:
                return False
            b64 = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
            if op == "Mul":
                # in float32: the product of two float32 is exact in float64, so rounding it once gives what
                # the float64 product rounded to float32 gave, bit for bit, at half the memory traffic
                w = np.multiply(w, v.astype(np.float32).reshape((-1,) + (1,) * (w.ndim - 1)),
                                out=constant_array(w.shape, np.float32))
                _set_const(graph, node, 1, w, "scaled")
                b64 = b64 * v
            else:
                b64 = b64 + v
            if b is not None or op == "Add" or b64.any():
                _set_const(graph, node, 2, b64, "shifted")
            return True
        # BatchNormalization, inference form with constant parameters
        if node.attrs.get("training_mode", 0) or len(node.inputs) < 5:
            return False
        scale, bias = const_of(graph, node.inputs[1]), const_of(graph, node.inputs[2])
        x = graph.values.get(node.inputs[0])
        if scale is None or bias is None or scale.dtype != np.float32 or bias.dtype != np.float32:
            return False
        if x is None or x.shape is None:
            return False
        v = _channel_vector(k, len(x.shape), scale.shape[0])
        if v is None:
            return False
        if op == "Mul":
            _set_const(graph, node, 1, scale.astype(np.float64) * v, "scaled")
            _set_const(graph, node, 2, bias.astype(np.float64) * v, "scaled")
        else:
            _set_const(graph, node, 2, bias.astype(np.float64) + v, "shifted")
        return True


def _set_const(graph: Graph, node: Node, index: int, value: np.ndarray, tag: str) -> None:
    """Give ``node`` input ``index`` a new float32 constant (the old one may be shared)."""
    base = node.inputs[index] if index < len(node.inputs) and node.inputs[index] else f"{node.name}_in{index}"
    name = graph.unique_name(f"{base}_{tag}")
    graph.values[name] = Value(name, DType.FLOAT32, tuple(value.shape), const=value.astype(np.float32, copy=False))
    while len(node.inputs) <= index:
        node.inputs.append("")
    node.inputs[index] = name
