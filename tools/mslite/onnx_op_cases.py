"""One-op (or small) ONNX models, one per ONNX operator, for the `.ms` coverage run (``ms_op_coverage.py``).

:data:`CASES` maps an ONNX operator to a :class:`Case`: its graph inputs (shape, element type, value
kind), constant inputs, attributes, number of outputs and opset.  Operators that cannot be expressed as a
small float model (sequences, strings, optionals, control flow, random generators) are listed in
:data:`NOT_BUILT` with the reason.  Every ONNX operator of the default domain is in one of the two.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F, I32, I64, B, U8 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64, TensorProto.BOOL, TensorProto.UINT8
X4 = [1, 3, 4, 5]


@dataclass
class Case:
    #: graph inputs: (shape, elem type, value kind) with kind one of f (normal), pos, unit, ge1, bool, int<N>
    inputs: list[tuple[list[int], int, str]]
    #: constant inputs by position (numpy arrays), "" for an omitted optional input
    consts: dict[int, object] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    outputs: int = 1
    opset: int = 13
    #: a small model instead of one node: builds the nodes from (input names, output names)
    nodes: Callable | None = None


def _f(*shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32)


def _i64(*values):
    return np.array(values, np.int64)


def unary(kind="f", shape=None, opset=13, **attrs) -> Case:
    return Case([(shape or X4, F, kind)], attrs=attrs, opset=opset)


def binary(kind="f", etype=F, opset=13, shape_b=None, **attrs) -> Case:
    return Case([(X4, etype, kind), (shape_b or X4, etype, kind)], attrs=attrs, opset=opset)


def reduce_(op_opset=13, axes_input=False) -> Case:
    if axes_input:
        return Case([(X4, F, "pos")], consts={1: _i64(1)}, attrs={"keepdims": 1}, opset=op_opset)
    return Case([(X4, F, "pos")], attrs={"axes": [1], "keepdims": 1}, opset=op_opset)


def _constant_add(inputs, outputs):
    return [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(_f(5, seed=3), "c")),
            helper.make_node("Add", [inputs[0], "c"], outputs)]


def _shape_then(op, **attrs):
    def nodes(inputs, outputs):
        return [helper.make_node("Shape", [inputs[0]], ["s"]), helper.make_node(op, ["s"], outputs, **attrs)]
    return nodes


def _range(inputs, outputs):
    return [helper.make_node("Shape", [inputs[0]], ["s"]),
            helper.make_node("Gather", ["s", "i"], ["n"], axis=0),
            helper.make_node("Cast", ["n"], ["nf"], to=F),
            helper.make_node("Range", ["zero", "nf", "one"], outputs)]


def _lstm_like(gates: int, extra: dict | None = None) -> Case:
    hidden, feat = 4, 3
    rng = np.random.default_rng(5)
    case = Case([([5, 1, feat], F, "f")],
                consts={1: rng.uniform(-0.5, 0.5, (1, gates * hidden, feat)).astype(np.float32),
                        2: rng.uniform(-0.5, 0.5, (1, gates * hidden, hidden)).astype(np.float32),
                        3: rng.uniform(-0.5, 0.5, (1, 2 * gates * hidden)).astype(np.float32)},
                attrs={"hidden_size": hidden, **(extra or {})}, outputs=3 if gates == 4 else 2)
    return case


def _lstm() -> Case:
    """LSTM as the fixture model has it (MindSpore Lite 2.0.0 crashes without the initial states as inputs)."""
    hidden, feat, batch = 16, 8, 2
    rng = np.random.default_rng(5)
    consts = {"W": rng.uniform(-0.3, 0.3, (1, 4 * hidden, feat)).astype(np.float32),
              "R": rng.uniform(-0.3, 0.3, (1, 4 * hidden, hidden)).astype(np.float32),
              "B": rng.uniform(-0.1, 0.1, (1, 8 * hidden)).astype(np.float32)}
    return Case([([5, batch, feat], F, "f"), ([1, batch, hidden], F, "f"), ([1, batch, hidden], F, "f")],
                consts=consts, outputs=3, nodes=lambda i, o: [helper.make_node(
                    "LSTM", [i[0], "W", "R", "B", "", i[1], i[2]], o, hidden_size=hidden)])


CASES: dict[str, Case] = {
    # ---- elementwise unary
    **{op: unary() for op in ("Abs", "Asinh", "Atan", "Ceil", "Cos", "Cosh", "Erf", "Exp", "Floor", "Identity",
                              "Neg", "Relu", "Round", "Sigmoid", "Sign", "Sin", "Sinh", "Softplus", "Softsign",
                              "Tanh", "Selu", "IsInf", "IsNaN")},
    **{op: unary("unit") for op in ("Acos", "Asin", "Atanh", "Tan")},
    "Acosh": unary("ge1"),
    **{op: unary("pos") for op in ("Log", "Reciprocal", "Sqrt")},
    "HardSwish": unary(opset=14),
    "Mish": unary(opset=18),
    "Gelu": unary(opset=20),
    "Swish": unary(opset=24),
    "Celu": unary(alpha=1.0),
    "Elu": unary(alpha=1.0),
    "LeakyRelu": unary(alpha=0.1),
    "ThresholdedRelu": unary(alpha=0.5),
    "HardSigmoid": unary(alpha=0.2, beta=0.5),
    "Shrink": unary(bias=0.1, lambd=0.5),
    "Hardmax": unary(axis=-1),
    "Softmax": unary(axis=-1),
    "LogSoftmax": unary(axis=-1),
    "Dropout": unary(),
    "Not": Case([(X4, B, "bool")]),
    "BitwiseNot": Case([(X4, I32, "int8")], opset=18),
    "Clip": Case([(X4, F, "f")], consts={1: np.float32(-0.5), 2: np.float32(0.5)}),
    # ---- elementwise binary
    **{op: binary() for op in ("Add", "Sub", "Mul", "Max", "Min", "Mean", "Sum", "Equal", "Greater",
                               "GreaterOrEqual", "Less", "LessOrEqual")},
    "Div": binary("pos"),
    "Pow": Case([(X4, F, "pos"), (X4, F, "f")]),
    "Mod": binary(fmod=1),
    **{op: binary("bool", B) for op in ("And", "Or", "Xor")},
    **{op: binary("int8", I32, opset=18) for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")},
    "BitShift": Case([(X4, U8, "int4"), (X4, U8, "int4")], attrs={"direction": "LEFT"}, opset=11),
    "PRelu": Case([(X4, F, "f")], consts={1: _f(3, 1, 1, lo=0.0, hi=0.5)}),
    "Where": Case([(X4, B, "bool"), (X4, F, "f"), (X4, F, "f")]),
    # ---- matrix products
    "MatMul": Case([([2, 3, 4], F, "f")], consts={1: _f(4, 5)}),
    "Gemm": Case([([2, 4], F, "f")], consts={1: _f(3, 4), 2: _f(3)}, attrs={"transB": 1}),
    "Einsum": Case([([2, 3, 4], F, "f"), ([2, 4, 5], F, "f")], attrs={"equation": "bij,bjk->bik"}, opset=12),
    "MatMulInteger": Case([([2, 4], U8, "int8")], consts={1: np.arange(12, dtype=np.uint8).reshape(4, 3)},
                          opset=10),
    # ---- convolution, pooling, normalisation
    "Conv": Case([([1, 3, 8, 8], F, "f")], consts={1: _f(4, 3, 3, 3), 2: _f(4)},
                 attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1], "dilations": [1, 1], "group": 1}),
    "ConvTranspose": Case([([1, 3, 4, 4], F, "f")], consts={1: _f(3, 4, 3, 3), 2: _f(4)},
                          attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 0, 0], "dilations": [1, 1],
                                 "group": 1}),
    "ConvInteger": Case([([1, 2, 4, 4], U8, "int8")], consts={1: np.ones((2, 2, 2, 2), np.uint8)}, opset=10,
                       attrs={"kernel_shape": [2, 2], "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1]}),
    "DeformConv": Case([([1, 2, 4, 4], F, "f")], consts={1: _f(2, 2, 2, 2), 2: np.zeros((1, 8, 3, 3), np.float32)},
                       attrs={"kernel_shape": [2, 2], "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1]}, opset=19),
    "AveragePool": Case([([1, 3, 8, 8], F, "f")], attrs={"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0]}),
    "MaxPool": Case([([1, 3, 8, 8], F, "f")], attrs={"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0]}),
    "LpPool": Case([([1, 3, 8, 8], F, "f")], attrs={"kernel_shape": [2, 2], "strides": [2, 2], "p": 2}, opset=18),
    "GlobalAveragePool": unary(shape=[1, 3, 8, 8]),
    "GlobalMaxPool": unary(shape=[1, 3, 8, 8]),
    "GlobalLpPool": unary(shape=[1, 3, 8, 8], p=2),
    "MaxRoiPool": Case([([1, 3, 8, 8], F, "f")], consts={1: np.array([[0, 0, 0, 4, 4]], np.float32)},
                       attrs={"pooled_shape": [2, 2]}),
    "MaxUnpool": Case([([1, 1, 2, 2], F, "f")], consts={1: np.array([[[[0, 3], [8, 15]]]], np.int64)},
                      attrs={"kernel_shape": [2, 2], "strides": [2, 2]}, opset=11),
    "BatchNormalization": Case([([1, 3, 4, 4], F, "f")],
                               consts={1: _f(3, lo=0.5, hi=1.5), 2: _f(3), 3: _f(3), 4: _f(3, lo=0.5, hi=1.5)},
                               opset=15),
    "InstanceNormalization": Case([([1, 3, 4, 4], F, "f")], consts={1: _f(3, lo=0.5, hi=1.5), 2: _f(3)}),
    "LayerNormalization": Case([([2, 3, 8], F, "f")], consts={1: _f(8, lo=0.5, hi=1.5), 2: _f(8)},
                               attrs={"axis": -1}, opset=17),
    "GroupNormalization": Case([([1, 4, 3, 3], F, "f")], consts={1: _f(4, lo=0.5, hi=1.5), 2: _f(4)},
                               attrs={"num_groups": 2}, opset=21),
    "RMSNormalization": Case([([2, 3, 8], F, "f")], consts={1: _f(8, lo=0.5, hi=1.5)}, opset=23),
    "LRN": Case([([1, 5, 4, 4], F, "f")], attrs={"size": 3, "alpha": 1e-3, "beta": 0.75, "bias": 1.0}),
    "LpNormalization": unary(axis=-1, p=2),
    "MeanVarianceNormalization": unary(),
    # ---- recurrent
    "LSTM": _lstm(),
    "GRU": _lstm_like(3, {"linear_before_reset": 1}),
    "RNN": _lstm_like(1),
    # ---- reductions
    **{op: reduce_() for op in ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare")},
    "ReduceSum": reduce_(axes_input=True),
    "ArgMax": unary(axis=1, keepdims=1),
    "ArgMin": unary(axis=1, keepdims=1),
    "TopK": Case([(X4, F, "f")], consts={1: _i64(2)}, attrs={"axis": -1}, outputs=2),
    "CumSum": Case([(X4, F, "f")], consts={1: np.array(1, np.int32)}),
    "CumProd": Case([(X4, F, "f")], consts={1: np.array(1, np.int32)}, opset=26),
    # ---- shapes and data movement
    "Reshape": Case([(X4, F, "f")], consts={1: _i64(1, 12, 5)}),
    "Transpose": unary(shape=[3, 4, 5], perm=[1, 0, 2]),  # 4-D NCHW->NHWC would cancel converter_lite's own
    "Flatten": unary(axis=1),
    "Squeeze": Case([([1, 3, 1, 5], F, "f")], consts={1: _i64(2)}),
    "Unsqueeze": Case([([3, 4, 5], F, "f")], consts={1: _i64(1)}),
    "Concat": Case([(X4, F, "f"), ([1, 2, 4, 5], F, "f")], attrs={"axis": 1}),
    "Split": Case([(X4, F, "f")], consts={1: _i64(1, 2)}, attrs={"axis": 1}, outputs=2),
    "Slice": Case([(X4, F, "f")], consts={1: _i64(0, 1), 2: _i64(2, 5), 3: _i64(1, 3), 4: _i64(1, 2)}),
    "Gather": Case([(X4, F, "f")], consts={1: _i64(2, 0)}, attrs={"axis": 1}),
    "GatherElements": Case([([3, 4], F, "f")], consts={1: np.array([[0, 1, 2, 0], [2, 2, 1, 0]], np.int64)},
                           attrs={"axis": 0}),
    "GatherND": Case([([3, 4, 5], F, "f")], consts={1: np.array([[0, 1], [2, 3]], np.int64)}),
    "ScatterND": Case([([4, 5], F, "f")], consts={1: np.array([[1], [3]], np.int64), 2: _f(2, 5)}),
    "ScatterElements": Case([([3, 4], F, "f")], consts={1: np.array([[0, 1, 2, 0]], np.int64), 2: _f(1, 4)},
                            attrs={"axis": 0}),
    "Scatter": Case([([3, 4], F, "f")], consts={1: np.array([[0, 1, 2, 0]], np.int64), 2: _f(1, 4)},
                    attrs={"axis": 0}, opset=10),
    "TensorScatter": Case([([2, 3, 4], F, "f"), ([2, 3, 1], F, "f")], opset=24),
    "Tile": Case([(X4, F, "f")], consts={1: _i64(1, 2, 1, 2)}),
    "Expand": Case([([3, 1, 5], F, "f")], consts={1: _i64(2, 3, 4, 5)}),
    "Pad": Case([(X4, F, "f")], consts={1: _i64(0, 0, 1, 2, 0, 0, 1, 2), 2: np.float32(0.5)}),
    "CenterCropPad": Case([([4, 6, 3], F, "f")], consts={1: _i64(3, 8)}, attrs={"axes": [0, 1]}, opset=18),
    "DepthToSpace": Case([([1, 8, 2, 3], F, "f")], attrs={"blocksize": 2, "mode": "DCR"}),
    "SpaceToDepth": Case([([1, 2, 4, 6], F, "f")], attrs={"blocksize": 2}),
    "Cast": unary(to=I32),
    "CastLike": Case([(X4, F, "f")], consts={1: np.zeros(1, np.int32)}, opset=15),
    "Shape": unary(),
    "Size": unary(),
    "ConstantOfShape": Case([(X4, F, "f")], nodes=_shape_then(
        "ConstantOfShape", value=numpy_helper.from_array(np.array([0.5], np.float32)))),
    "Constant": Case([(X4, F, "f")], nodes=_constant_add),
    "Range": Case([(X4, F, "f")], consts={"i": _i64(2), "zero": np.float32(0), "one": np.float32(0.5)},
                  nodes=_range),
    "EyeLike": Case([([4, 5], F, "f")], attrs={"k": 1}),
    "OneHot": Case([([2, 3], I64, "int4")], consts={1: _i64(5), 2: np.array([0.0, 1.0], np.float32)},
                   attrs={"axis": -1}, opset=11),
    "NonZero": unary(),
    "Compress": Case([(X4, F, "f")], consts={1: np.array([True, False, True], bool)}, attrs={"axis": 1}),
    "ReverseSequence": Case([([4, 2, 3], F, "f")], consts={1: _i64(3, 2)}, attrs={"batch_axis": 1, "time_axis": 0},
                            opset=10),
    "Trilu": Case([([3, 4, 5], F, "f")], attrs={"upper": 1}, opset=14),
    "Unique": Case([([6], F, "f")], attrs={"sorted": 1}, outputs=1, opset=11),
    "Det": Case([([2, 3, 3], F, "f")], opset=11),
    "Resize": Case([([1, 3, 4, 4], F, "f")], consts={1: "", 2: np.array([1, 1, 2, 2], np.float32)},
                   attrs={"mode": "nearest"}),
    "Upsample": Case([([1, 3, 4, 4], F, "f")], consts={1: np.array([1, 1, 2, 2], np.float32)},
                     attrs={"mode": "nearest"}, opset=9),
    "GridSample": Case([([1, 2, 4, 4], F, "f"), ([1, 3, 3, 2], F, "unit")], opset=16),
    "AffineGrid": Case([([1, 2, 3], F, "f")], consts={1: _i64(1, 1, 3, 4)}, opset=20),
    "Col2Im": Case([([1, 4, 9], F, "f")], consts={1: _i64(4, 4), 2: _i64(2, 2)}, opset=18),
    "RoiAlign": Case([([1, 3, 8, 8], F, "f")], consts={1: np.array([[0, 0, 4, 4]], np.float32),
                                                       2: np.array([0], np.int64)},
                     attrs={"output_height": 2, "output_width": 2}, opset=16),
    "NonMaxSuppression": Case([([1, 4, 4], F, "unit"), ([1, 1, 4], F, "pos")],
                              consts={2: _i64(2), 3: np.array([0.5], np.float32)}, opset=11),
    "DFT": Case([([1, 8, 1], F, "f")], opset=17),
    "STFT": Case([([1, 16, 1], F, "f")], consts={1: _i64(4), 2: "", 3: _i64(8)}, opset=17),
    **{op: Case([(X4, F, "f")], nodes=_shape_then(op), opset=17)
       for op in ("HannWindow", "HammingWindow", "BlackmanWindow")},
    "MelWeightMatrix": Case([(X4, F, "f")], consts={"n": _i64(4)}, nodes=lambda i, o: [
        helper.make_node("Shape", [i[0]], ["s"]), helper.make_node("Gather", ["s", "n"], ["g"], axis=0),
        helper.make_node("MelWeightMatrix", ["g", "g", "g", "g", "g"], o)], opset=17),
    # ---- quantisation
    "QuantizeLinear": Case([(X4, F, "f")], consts={1: np.float32(0.02), 2: np.uint8(128)}),
    "DequantizeLinear": Case([(X4, U8, "int255")], consts={1: np.float32(0.02), 2: np.uint8(128)}),
    "DynamicQuantizeLinear": Case([(X4, F, "f")], outputs=3, opset=11),
    "QLinearMatMul": Case([([2, 4], U8, "int255")],
                          consts={1: np.float32(0.02), 2: np.uint8(128), 3: np.ones((4, 3), np.uint8),
                                  4: np.float32(0.05), 5: np.uint8(0), 6: np.float32(0.1), 7: np.uint8(128)},
                          opset=10),
    "QLinearConv": Case([([1, 2, 4, 4], U8, "int255")],
                        consts={1: np.float32(0.02), 2: np.uint8(128), 3: np.ones((2, 2, 1, 1), np.uint8),
                                4: np.float32(0.05), 5: np.uint8(0), 6: np.float32(0.1), 7: np.uint8(128)},
                        opset=10),
    # ---- attention-style (newer opsets)
    "Attention": Case([([1, 2, 4, 8], F, "f"), ([1, 2, 4, 8], F, "f"), ([1, 2, 4, 8], F, "f")], opset=23),
    "RotaryEmbedding": Case([([1, 2, 3, 4], F, "f"), ([1, 3, 2], F, "f"), ([1, 3, 2], F, "f")],
                            consts={3: np.array([[0, 1, 2]], np.int64)}, opset=23),
    "NegativeLogLikelihoodLoss": Case([([2, 3], F, "f")], consts={1: _i64(0, 2)}, opset=13),
    "SoftmaxCrossEntropyLoss": Case([([2, 3], F, "f")], consts={1: _i64(0, 2)}, opset=13),
}

_CONV = {"strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1], "group": 1}
#: more forms of operators common in real models: rows "<op>:<form>" after the one-op rows
VARIANTS: dict[str, Case] = {
    "Conv:depthwise_stride2": Case([([1, 3, 8, 8], F, "f")], consts={1: _f(3, 1, 3, 3), 2: _f(3)},
                                   attrs={**_CONV, "kernel_shape": [3, 3], "group": 3, "strides": [2, 2],
                                          "pads": [1, 1, 1, 1]}),
    "Conv:dilated_no_bias": Case([([1, 3, 8, 8], F, "f")], consts={1: _f(4, 3, 3, 3)},
                                 attrs={**_CONV, "kernel_shape": [3, 3], "dilations": [2, 2]}),
    "ConvTranspose:padded": Case([([1, 3, 4, 4], F, "f")], consts={1: _f(3, 2, 3, 3), 2: _f(2)},
                                 attrs={**_CONV, "kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                        "output_padding": [1, 1]}),
    "MaxPool:ceil_padded": Case([([1, 3, 7, 7], F, "f")], attrs={"kernel_shape": [3, 3], "strides": [2, 2],
                                                                  "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    "AveragePool:count_include_pad": Case([([1, 3, 6, 6], F, "f")], attrs={
        "kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    "Resize:linear_half_pixel": Case([([1, 3, 4, 4], F, "f")], consts={1: "", 2: np.array([1, 1, 2, 2], np.float32)},
                                     attrs={"mode": "linear", "coordinate_transformation_mode": "half_pixel"}),
    "Resize:linear_align_corners": Case([([1, 3, 4, 4], F, "f")],
                                        consts={1: "", 2: np.array([1, 1, 2, 2], np.float32)},
                                        attrs={"mode": "linear", "coordinate_transformation_mode": "align_corners"}),
    "Resize:nearest_sizes": Case([([1, 3, 4, 4], F, "f")], consts={1: "", 2: "", 3: _i64(1, 3, 8, 8)},
                                 attrs={"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                                        "nearest_mode": "floor"}),
    "Gemm:plain": Case([([2, 4], F, "f")], consts={1: _f(4, 3), 2: _f(3)}),
    "Softmax:axis1_4d": unary(axis=1),
    "Pad:reflect": Case([(X4, F, "f")], consts={1: _i64(0, 0, 1, 2, 0, 0, 1, 2)}, attrs={"mode": "reflect"}),
    "DepthToSpace:CRD": Case([([1, 8, 2, 3], F, "f")], attrs={"blocksize": 2, "mode": "CRD"}),
    "Clip:relu6": Case([(X4, F, "f")], consts={1: np.float32(0.0), 2: np.float32(6.0)}),
    "ReduceMean:no_keepdims": Case([(X4, F, "f")], attrs={"axes": [2, 3], "keepdims": 0}),
    "MatMul:batched_inputs": Case([([2, 3, 4], F, "f"), ([2, 4, 5], F, "f")]),
}
CASES.update(VARIANTS)
# inputs given by name to a small model's nodes (not positional)
NAMED_CONSTS = {"Range", "MelWeightMatrix"}

#: ONNX operators with no one-op float model here, and why
NOT_BUILT: dict[str, str] = {
    **{op: "sequence-typed inputs or outputs" for op in (
        "ConcatFromSequence", "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert",
        "SequenceLength", "SequenceMap", "SplitToSequence")},
    **{op: "optional-typed values" for op in ("Optional", "OptionalGetElement", "OptionalHasElement")},
    **{op: "string tensors" for op in ("RegexFullMatch", "StringConcat", "StringNormalizer", "StringSplit",
                                       "TfIdfVectorizer")},
    **{op: "control flow (subgraphs)" for op in ("If", "Loop", "Scan")},
    **{op: "random output: nothing to compare" for op in (
        "Bernoulli", "Multinomial", "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike")},
    "ImageDecoder": "encoded-image byte input",
    "BitCast": "no onnxruntime/onnx reference semantics at this opset",
    "CausalConvWithState": "newer than the onnx package's opset of this tool",
    "LinearAttention": "newer than the onnx package's opset of this tool",
    "SwiGLU": "newer than the onnx package's opset of this tool",
}


def all_onnx_ops() -> list[str]:
    import onnx.defs

    return sorted({s.name for s in onnx.defs.get_all_schemas() if s.domain == ""})


def build(op: str) -> onnx.ModelProto:
    """The one-op model of ``op`` (float inputs named in0, in1...; outputs out0...)."""
    case = CASES[op]
    inputs = [helper.make_tensor_value_info(f"in{i}", t, shape) for i, (shape, t, _) in enumerate(case.inputs)]
    inits = []
    names = [f"in{i}" for i in range(len(case.inputs))]
    outs = [f"out{i}" for i in range(case.outputs)]
    if case.nodes is not None:
        for name, value in case.consts.items():
            inits.append(numpy_helper.from_array(np.asarray(value), str(name)))
        nodes = case.nodes(names, outs)
    else:
        positional = list(names)
        for pos in sorted(k for k in case.consts if isinstance(k, int)):
            value = case.consts[pos]
            while len(positional) < pos:
                positional.append("")
            if isinstance(value, str):
                positional.append("")
                continue
            cname = f"c{pos}"
            inits.append(numpy_helper.from_array(np.asarray(value), cname))
            positional.append(cname)
        op_type = op.split(":")[0]
        nodes = [helper.make_node(op_type, positional, outs, name=f"{op_type.lower()}_0", **case.attrs)]
    graph = helper.make_graph(nodes, op.replace(":", "_"), inputs, [helper.make_tensor_value_info(o, F, None) for o in outs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)], producer_name="litert")
    model.ir_version = 8
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
        types = {v.name: v.type for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        for out in model.graph.output:
            if out.name in types and types[out.name].tensor_type.elem_type:
                out.type.CopyFrom(types[out.name])
    except Exception:  # noqa: BLE001 - keep the float outputs
        pass
    return model


def values(kind: str, shape, dtype, rng: np.random.Generator) -> np.ndarray:
    """Random inputs of a value kind."""
    shape = tuple(shape)
    if kind == "bool" or dtype == np.bool_:
        return rng.random(shape) > 0.5
    if kind.startswith("int"):
        return rng.integers(0, int(kind[3:]), shape).astype(dtype)
    lo, hi = {"f": (-2.0, 2.0), "pos": (0.5, 2.0), "unit": (-0.9, 0.9), "ge1": (1.1, 3.0)}[kind]
    data = rng.uniform(lo, hi, shape)
    if np.issubdtype(dtype, np.integer):
        return np.round(data).astype(dtype)
    return data.astype(dtype)
