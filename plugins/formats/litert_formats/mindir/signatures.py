"""Argument lists of the MindSpore primitives litert reads and writes.

Since MindIR version 2, most primitives are *primitive functions*: a node
passes all arguments as inputs, tensors first, then the primitive's
constructor arguments (MatMul(input, mat2, transpose_a, transpose_b)), the
latter as ``Constant`` value nodes.  Older files, and the primitives that
are still classic (Conv2D, MaxPool, Stack, LRN...), carry those arguments as
primitive attributes instead.  This table names the inputs so that a reader
asks for ``transpose_b`` and gets it from either place, and a writer emits
the inputs in MindSpore's order.

Enumerated arguments of primitive functions are integers on the wire:
formats (NCHW = 0, NHWC = 1), pad modes (PAD = 0, SAME = 1, VALID = 2) and
element types (MindSpore TypeId, see :data:`TYPE_IDS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litert.ir import DType

from ..mindspore import MINDSPORE_TYPE_IDS, enum_name
from ..ms.types import Format, PadMode


@dataclass(frozen=True)
class Signature:
    """A primitive function's node inputs, in order; ``defaults`` for trailing optional ones."""

    args: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)

    def index(self, name: str) -> int | None:
        return self.args.index(name) if name in self.args else None


def _sig(*args: str, **defaults: Any) -> Signature:
    return Signature(tuple(args), defaults)


_UNARY = _sig("input")
_BINARY = _sig("input", "other")
_REDUCE = _sig("x", "axis", "keep_dims", keep_dims=False)

#: primitive functions: op_type -> Signature
FUNCTIONS: dict[str, Signature] = {
    # nn
    "BiasAdd": _sig("input_x", "bias", "data_format", data_format=0),
    "BatchNorm": _sig("input_x", "scale", "bias", "mean", "variance", "is_training", "epsilon", "momentum",
                      "data_format", is_training=False, epsilon=1e-5, momentum=0.1, data_format=0),
    "LayerNorm": _sig("input_x", "gamma", "beta", "begin_norm_axis", "begin_params_axis", "epsilon",
                      begin_norm_axis=1, begin_params_axis=1, epsilon=1e-7),
    "AvgPool": _sig("x", "kernel_size", "strides", "pad_mode", "data_format", kernel_size=1, strides=1,
                    pad_mode=2, data_format=0),
    "Softmax": _sig("input", "axis", axis=(-1,)),
    "LogSoftmax": _sig("logits", "axis", axis=-1),
    "ReLU": _UNARY, "ReLU6": _sig("x"), "HSwish": _UNARY, "HSigmoid": _UNARY, "GeLU": _UNARY,
    "FastGeLU": _sig("x"), "SiLU": _UNARY, "Sigmoid": _UNARY, "Tanh": _UNARY,
    "Elu": _sig("input_x", "alpha", alpha=1.0),
    "LeakyReLUExt": _sig("input", "negative_slope", negative_slope=0.01),
    "PReLU": _sig("input", "weight"),
    "Dense": _sig("input", "weight", "bias", bias=None),
    "MatMul": _sig("input", "mat2", "transpose_a", "transpose_b", transpose_a=False, transpose_b=False),
    "BatchMatMul": _sig("x", "y", "transpose_a", "transpose_b", transpose_a=False, transpose_b=False),
    "MatMulExt": _sig("input", "other"),
    "BatchMatMulExt": _sig("input", "mat2"),
    # elementwise
    "Add": _BINARY, "Sub": _BINARY, "Mul": _BINARY, "Div": _BINARY, "RealDiv": _sig("x", "y"),
    "Muls": _BINARY, "Divs": _BINARY,
    "AddExt": _sig("input", "other", "alpha", alpha=1), "SubExt": _sig("input", "other", "alpha", alpha=1),
    "AddScalar": _sig("input", "other", "alpha", alpha=1), "SubScalar": _sig("input", "other", "alpha", alpha=1),
    "Maximum": _BINARY, "Minimum": _BINARY, "Pow": _sig("input", "exponent"),
    "Equal": _BINARY, "Less": _BINARY, "Greater": _BINARY, "LessEqual": _BINARY, "GreaterEqual": _BINARY,
    "Select": _sig("condition", "input", "other"),
    "Erf": _UNARY, "Exp": _UNARY, "Log": _UNARY, "Sqrt": _sig("x"), "Rsqrt": _UNARY, "Square": _UNARY,
    "Reciprocal": _UNARY, "Neg": _UNARY, "Abs": _UNARY, "Floor": _UNARY, "Ceil": _UNARY, "Sin": _UNARY,
    "Cos": _UNARY, "Sign": _UNARY,
    "ClampScalar": _sig("input", "min", "max", min=None, max=None),
    "ClampTensor": _sig("input", "min", "max", min=None, max=None),
    "Cast": _sig("input_x", "dtype"),
    # reductions
    "ReduceMean": _REDUCE, "ReduceMax": _REDUCE, "ReduceMin": _REDUCE, "ReduceProd": _REDUCE,
    "ReduceSum": _sig("x", "axis", "keep_dims", "skip_mode", keep_dims=False, skip_mode=False),
    "SumExt": _sig("input", "dim", "keepdim", "dtype", dim=None, keepdim=False, dtype=None),
    "MeanExt": _sig("input", "dim", "keepdim", "dtype", dim=None, keepdim=False, dtype=None),
    # shape
    "Reshape": _sig("input", "shape"),
    "Transpose": _sig("input", "dims"),
    "Flatten": _sig("input_x"),
    "Squeeze": _sig("input", "axis", axis=()),
    "ExpandDims": _sig("input_x", "axis"),
    "Concat": _sig("tensors", "axis", axis=0),
    "Split": _sig("input_x", "axis", "output_num", axis=0, output_num=1),
    "Gather": _sig("input_params", "input_indices", "axis", "batch_dims", batch_dims=0),
    "StridedSlice": _sig("input_x", "begin", "end", "strides", "begin_mask", "end_mask", "ellipsis_mask",
                         "new_axis_mask", "shrink_axis_mask", begin_mask=0, end_mask=0, ellipsis_mask=0,
                         new_axis_mask=0, shrink_axis_mask=0),
    "Tile": _sig("input", "dims"),
    "BroadcastTo": _sig("input", "shape"),
    "Identity": _sig("input_x"),
}

#: MindSpore TypeId <-> IR dtype (the dtype argument of Cast and friends): MindSpore's one table, in ..mindspore
TYPE_IDS: dict[int, DType] = {code: dt for code, (_, dt) in MINDSPORE_TYPE_IDS.items() if dt is not None}
TYPE_ID_OF = {dt: code for code, dt in TYPE_IDS.items()}


def format_name(value: Any) -> str:
    """A data format given as an enum integer (primitive functions) or a string (attributes)."""
    if isinstance(value, str):
        return value.upper()
    return str(enum_name(Format, int(value)))


def pad_mode_name(value: Any) -> str:
    if isinstance(value, str):
        return value.upper()
    return str(enum_name(PadMode, int(value)))
