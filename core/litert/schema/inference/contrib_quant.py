"""onnxruntime's quantised contrib operators (QOperator format): QGemm, QLinearAdd/Mul, QLinearConcat,
QLinear pools and activations.  Each reuses the rule of its float counterpart on the data inputs."""
from __future__ import annotations

from ...ir import DType, Graph, Node
from ._base import Info, Inputs, arg, broadcast, dtype_of, rule
from .linalg import _gemm
from .nn import _global_pool, _pool
from .recurrent import _recurrent
from .shape_ops import _concat

_MS = "com.microsoft"


@rule("QGemm", domain=_MS)
def _qgemm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    [(_, shape)] = _gemm(node, [inputs[0], inputs[3]], graph)
    # a float output when no y_scale is given
    dtype = dtype_of(arg(inputs, 8)) or (DType.FLOAT32 if arg(inputs, 7) is None else dtype_of(inputs[0]))
    return [(dtype, shape)]


@rule("DynamicQuantizeLSTM", domain=_MS)
def _dynamic_quantize_lstm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return _recurrent(node, inputs, graph)  # hidden_size is an attribute; the outputs are LSTM's


@rule("QLinearAdd", "QLinearMul", domain=_MS)
def _qlinear_binary(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), broadcast(inputs[0].shape, inputs[3].shape))]


@rule("QLinearSigmoid", "QLinearLeakyRelu", domain=_MS)
def _qlinear_unary(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), inputs[0].shape)]


@rule("QLinearGlobalAveragePool", "QLinearAveragePool", domain=_MS)
def _qlinear_pool(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if node.attrs.get("channels_last", 0):
        return [(dtype_of(x), None)]
    pool = _global_pool if node.op_type == "QLinearGlobalAveragePool" else _pool
    return [pool(node, [x], graph)[0]]


@rule("QLinearConcat", domain=_MS)
def _qlinear_concat(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    [(_, shape)] = _concat(node, list(inputs[2::3]), graph)
    return [(dtype_of(arg(inputs, 1)) or dtype_of(arg(inputs, 2)), shape)]
