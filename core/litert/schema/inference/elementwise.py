"""Elementwise operators: unary maps, broadcasting arithmetic, comparisons,
logic, casts, and the activations and normalisations that keep their input's
type and shape."""
from __future__ import annotations

from ...ir import DType, Graph, Node, Shape
from ._base import Info, Inputs, arg, attr_dtype, broadcast, dtype_of, like, norm_axis, rule, same, shape_of

#: output = first input's dtype and shape
SAME_AS_INPUT = (
    "Abs Neg Reciprocal Sqrt Exp Log Ceil Floor Round Sign Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh "
    "Atanh Erf Relu Sigmoid Tanh Elu Celu Selu LeakyRelu HardSigmoid HardSwish Gelu Mish Softplus Softsign "
    "ThresholdedRelu Shrink Swish Clip Not BitwiseNot Softmax LogSoftmax Hardmax LRN "
    "InstanceNormalization GroupNormalization LpNormalization MeanVarianceNormalization CumSum CumProd "
    "Trilu ReverseSequence PRelu SwiGLU RotaryEmbedding"
).split()

#: numpy broadcasting over all inputs; dtype of the first
BROADCAST_ARITH = "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Mean Sum".split()

#: numpy broadcasting; bool output
BROADCAST_COMPARE = "Equal Greater GreaterOrEqual Less LessOrEqual And Or Xor".split()


@rule(*SAME_AS_INPUT)
def _same_as_input(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0])]


@rule("Identity")
def _identity(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [same(inputs[0])]  # also sequences and optionals


def _shapes(inputs: Inputs) -> list[Shape | None]:
    return [v.shape if v is not None else None for v in inputs]


@rule(*BROADCAST_ARITH)
def _arith(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), broadcast(*_shapes(inputs)))]


@rule(*BROADCAST_COMPARE)
def _compare(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.BOOL, broadcast(*_shapes(inputs)))]


@rule("IsNaN", "IsInf", "RegexFullMatch")
def _predicate(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], DType.BOOL)]


@rule("Where")
def _where(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[1]), broadcast(*_shapes(inputs)))]


@rule("StringConcat")
def _string_concat(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.STRING, broadcast(*_shapes(inputs)))]


@rule("Cast", "BitCast")
def _cast(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], attr_dtype(node, "to"))]


@rule("CastLike")
def _cast_like(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[1]), shape_of(inputs[0]))]


@rule("Dropout")
def _dropout(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0]), like(inputs[0], DType.BOOL)][: len(node.outputs)]


@rule("BatchNormalization")
def _batch_norm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    # training mode also returns the running statistics, typed like input_mean
    stats = like(arg(inputs, 3))
    return [like(inputs[0]), stats, stats][: len(node.outputs)]


@rule("LayerNormalization")
def _layer_norm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    stash = attr_dtype(node, "stash_type", DType.FLOAT32)
    if x is None or x.shape is None:
        return [like(x)] + [(stash, None)] * (len(node.outputs) - 1)
    rank = len(x.shape)
    axis = norm_axis(node.attrs.get("axis", -1), rank)
    stats = (stash, (*x.shape[:axis], *[1] * (rank - axis)))
    return [like(x), stats, stats][: len(node.outputs)]


@rule("RMSNormalization")
def _rms_norm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[1]), shape_of(inputs[0]))]


@rule("EyeLike")
def _eye_like(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], attr_dtype(node, "dtype"))]


@rule("Bernoulli", "RandomNormalLike", "RandomUniformLike")
def _random_like(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], attr_dtype(node, "dtype"))]


@rule("Binarizer", "Imputer", domain="ai.onnx.ml")
def _ml_same(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0])]


@rule("Scaler", "Normalizer", domain="ai.onnx.ml")
def _ml_float(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0], DType.FLOAT32)]
