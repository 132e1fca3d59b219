"""MindSpore primitives -> litert IR operators (ONNX semantics): the reader's converter table.

Each converter receives a :class:`~.context.NodeContext` and returns the
entry of the node's result: an IR value name, or a tuple of them for
primitives with several outputs.  The table :data:`CONVERTERS` at the end
lists every primitive the reader maps; simple one-to-one operators are in
:data:`UNARY` and :data:`BINARY`.

MindSpore conventions handled here: 4-D ``kernel_size``/``stride``/
``dilation`` tuples in NCHW or NHWC order; pad modes ``same`` (extra padding
at the end, as ONNX ``SAME_UPPER``), ``valid`` and ``pad`` (``pad`` is
top, bottom, left, right); ``BiasAdd`` adding along the channel axis;
``MatMul`` transpose flags; tuple-valued axes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from litert.ir import DType

from ..transposes import swap_last_axes
from . import elementwise
from .context import NodeContext, Unavailable
from .signatures import TYPE_IDS, format_name, pad_mode_name

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


# ---------------------------------------------------------------- helpers


def _ints(value: Any) -> list[int]:
    if isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    if isinstance(value, np.ndarray):
        return [int(v) for v in value.reshape(-1)]
    return [int(value)]


def _spatial(value: Any, fmt: str, n: int = 2) -> list[int]:
    """A MindSpore size tuple (int, (h, w), or (1, 1, h, w) / (1, h, w, 1)) as ``n`` spatial values."""
    values = _ints(value)
    if len(values) == 1:
        return values * n
    if len(values) == n:
        return values
    if len(values) == n + 2:
        return values[1:n + 1] if fmt == "NHWC" else values[2:]
    raise ValueError(f"cannot read {n} spatial values from {value!r}")


def _nchw_in(ctx: NodeContext, x: str, fmt: str) -> str:
    return ctx.transpose(x, [0, 3, 1, 2]) if fmt == "NHWC" else x


def _nchw_out(ctx: NodeContext, y: str, fmt: str) -> str:
    return ctx.emit("Transpose", [y], perm=[0, 2, 3, 1]) if fmt == "NHWC" else y


def _axes(ctx: NodeContext, value: Any, hint: str = "axes") -> str | None:
    """An int64 axes constant, or None for MindSpore's empty tuple (= every axis)."""
    axes = [] if value is None else _ints(value)
    return ctx.add_const(np.array(axes, np.int64), hint) if axes else None


def _given(ctx: NodeContext, key: str) -> bool:
    """An optional argument that is present and not None."""
    return ctx.has(key) and not (ctx.is_const(key) and ctx.const(key) is None)


def _pool_padding(pad_mode: str) -> dict[str, Any]:
    if pad_mode == "SAME":
        return {"auto_pad": "SAME_UPPER"}
    if pad_mode == "VALID":
        return {"auto_pad": "VALID"}
    raise ValueError(f"pad_mode {pad_mode!r}")


# ---------------------------------------------------------------- nn


def conv2d(ctx: NodeContext) -> str:
    fmt = format_name(ctx.attr("format", "NCHW", aliases=("data_format",)))
    if int(ctx.attr("mode", 1)) != 1:
        raise ctx.unsupported(f"mode {ctx.attr('mode')} (only 1, cross-correlation, exists)")
    kernel = _spatial(ctx.attr("kernel_size"), fmt)
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": _spatial(ctx.attr("stride", 1), fmt),
        "dilations": _spatial(ctx.attr("dilation", 1), fmt),
        "group": int(ctx.attr("group", 1, aliases=("groups",))),
    }
    pad_mode = pad_mode_name(ctx.attr("pad_mode", "valid"))
    if pad_mode == "PAD":
        pad = _ints(ctx.attr("pad", 0))
        top, bottom, left, right = pad * 4 if len(pad) == 1 else pad
        attrs["pads"] = [top, left, bottom, right]
    else:
        attrs.update(_pool_padding(pad_mode))
    x = _nchw_in(ctx, ctx.tensor(0), fmt)
    w = ctx.tensor(1)
    if fmt == "NHWC":  # MindSpore keeps NHWC weights as (out, kh, kw, in)
        w = ctx.transpose(w, [0, 3, 1, 2])
    return _nchw_out(ctx, ctx.emit("Conv", [x, w], **attrs), fmt)


def max_pool(ctx: NodeContext) -> str:
    fmt = format_name(ctx.attr("format", "NCHW", aliases=("data_format",)))
    attrs: dict[str, Any] = {"kernel_shape": _spatial(ctx.attr("kernel_size"), fmt),
             "strides": _spatial(ctx.attr("strides", 1), fmt)}
    attrs.update(_pool_padding(pad_mode_name(ctx.attr("pad_mode", "VALID"))))
    x = _nchw_in(ctx, ctx.tensor(0), fmt)
    return _nchw_out(ctx, ctx.emit("MaxPool", [x], **attrs), fmt)


def avg_pool(ctx: NodeContext) -> str:
    fmt = format_name(ctx.param("data_format", "NCHW", aliases=("format",)))
    attrs: dict[str, Any] = {"kernel_shape": _spatial(ctx.param("kernel_size"), fmt),
             "strides": _spatial(ctx.param("strides", 1), fmt),
             "count_include_pad": 0}  # MindSpore's SAME averages over the valid window only
    attrs.update(_pool_padding(pad_mode_name(ctx.param("pad_mode", "VALID"))))
    x = _nchw_in(ctx, ctx.tensor(0), fmt)
    return _nchw_out(ctx, ctx.emit("AveragePool", [x], **attrs), fmt)


def _pool3d(ctx: NodeContext, onnx_op: str) -> str:
    """MaxPool3D/AvgPool3D (NCDHW): pad_list is (front, back, top, bottom, left, right)."""
    fmt = format_name(ctx.attr("format", "NCDHW", aliases=("data_format",)))
    if fmt != "NCDHW":
        raise ctx.unsupported(f"format {fmt}")
    attrs: dict[str, Any] = {"kernel_shape": _spatial(ctx.attr("kernel_size"), "NCDHW", 3),
                             "strides": _spatial(ctx.attr("strides", 1), "NCDHW", 3),
                             "ceil_mode": int(bool(ctx.attr("ceil_mode", 0) or 0))}
    pad_mode = pad_mode_name(ctx.attr("pad_mode", "VALID"))
    if pad_mode in ("PAD", "CALCULATED"):
        pad = _ints(ctx.attr("pad_list", None) or ctx.attr("pad", 0))
        pad = pad * 6 if len(pad) == 1 else pad
        attrs["pads"] = [pad[0], pad[2], pad[4], pad[1], pad[3], pad[5]]
    else:
        attrs.update(_pool_padding(pad_mode))
    if onnx_op == "AveragePool":
        if int(ctx.attr("divisor_override", 0) or 0):
            raise ctx.unsupported("divisor_override")
        attrs["count_include_pad"] = int(bool(ctx.attr("count_include_pad", True)))
    return ctx.emit(onnx_op, [ctx.tensor(0)], **attrs)


def max_pool3d(ctx: NodeContext) -> str:
    return _pool3d(ctx, "MaxPool")


def avg_pool3d(ctx: NodeContext) -> str:
    return _pool3d(ctx, "AveragePool")


def lrn(ctx: NodeContext) -> str:
    """MindSpore's alpha scales each square; ONNX's alpha is divided by the window size."""
    if str(ctx.attr("norm_region", "ACROSS_CHANNELS")).upper() != "ACROSS_CHANNELS":
        raise ctx.unsupported(f"norm_region {ctx.attr('norm_region')}")
    size = 2 * int(ctx.attr("depth_radius", 5)) + 1
    return ctx.emit("LRN", [ctx.tensor(0)], size=size, alpha=float(ctx.attr("alpha", 1.0)) * size,
                    beta=float(ctx.attr("beta", 0.5)), bias=float(ctx.attr("bias", 1.0)))


def bias_add(ctx: NodeContext) -> str:
    fmt = format_name(ctx.param("data_format", "NCHW", aliases=("format",)))
    x, bias = ctx.tensor(0), ctx.tensor(1)
    rank = ctx.rank(0)
    if fmt.startswith("NC") and rank > 2:  # channels on axis 1: bias (C,) -> (C, 1, ..., 1)
        bias = _reshape(ctx, bias, [-1] + [1] * (rank - 2))
    return ctx.emit("Add", [x, bias])


def _reshape(ctx: NodeContext, value: str, shape: list[int]) -> str:
    known = ctx.reader.graph.values.get(value)
    if known is not None and known.const is not None:
        return ctx.add_const(known.const.reshape(shape), "reshaped")
    return ctx.emit("Reshape", [value, ctx.add_const(np.array(shape, np.int64), "shape")])


def batch_norm(ctx: NodeContext) -> tuple:
    if ctx.param("is_training", False):
        raise ctx.unsupported("training-mode BatchNorm (is_training=True); export the network with set_train(False)")
    fmt = format_name(ctx.param("data_format", "NCHW", aliases=("format",)))
    x = _nchw_in(ctx, ctx.tensor(0), fmt) if fmt == "NHWC" else ctx.tensor(0)
    inputs = [x] + [ctx.tensor(i) for i in range(1, 5)]
    y = ctx.emit("BatchNormalization", inputs, epsilon=float(ctx.param("epsilon", 1e-5)))
    y = _nchw_out(ctx, y, fmt) if fmt == "NHWC" else y
    unused = Unavailable(f"a BatchNorm batch statistic of {ctx.name} (training outputs are not computed)")
    return (y, unused, unused, unused, unused)


def layer_norm(ctx: NodeContext) -> tuple:
    axis = int(ctx.param("begin_norm_axis", 1))
    if int(ctx.param("begin_params_axis", axis)) != axis:
        rank = ctx.rank(0)
        if int(ctx.param("begin_params_axis")) % rank != axis % rank:
            raise ctx.unsupported("begin_params_axis different from begin_norm_axis")
    y = ctx.emit("LayerNormalization", [ctx.tensor(0), ctx.tensor(1), ctx.tensor(2)],
                 axis=axis, epsilon=float(ctx.param("epsilon", 1e-7)))
    unused = Unavailable(f"a LayerNorm statistic of {ctx.name} (mean/rstd outputs are not computed)")
    return (y, unused, unused)


def matmul(ctx: NodeContext) -> str:
    a, b = ctx.tensor(0), ctx.tensor(1)
    if ctx.param("transpose_a", False):
        a = ctx.transpose(a, swap_last_axes(ctx.rank(0)))
    if ctx.param("transpose_b", False):
        b = ctx.transpose(b, swap_last_axes(ctx.rank(1)))
    return ctx.emit("MatMul", [a, b])


def dense(ctx: NodeContext) -> str:
    y = ctx.emit("MatMul", [ctx.tensor(0), ctx.transpose(ctx.tensor(1), [1, 0])])
    if _given(ctx, "bias"):
        y = ctx.emit("Add", [y, ctx.tensor("bias")])
    return y


def softmax(ctx: NodeContext) -> str:
    axis = _ints(ctx.param("axis", -1))
    if len(axis) != 1:
        raise ctx.unsupported(f"softmax over several axes {axis}")
    return ctx.emit("Softmax", [ctx.tensor(0)], axis=axis[0])


def log_softmax(ctx: NodeContext) -> str:
    return ctx.emit("LogSoftmax", [ctx.tensor(0)], axis=_ints(ctx.param("axis", -1))[0])


def relu6(ctx: NodeContext) -> str:
    x = ctx.tensor(0)
    dtype = ctx.dtype(0) or DType.FLOAT32
    lo, hi = (ctx.add_const(np.array(v, dtype.numpy), n) for v, n in ((0, "zero"), (6, "six")))
    return ctx.emit("Clip", [x, lo, hi])


def hsigmoid(ctx: NodeContext) -> str:
    return ctx.emit("HardSigmoid", [ctx.tensor(0)], alpha=1.0 / 6.0, beta=0.5)


def gelu(ctx: NodeContext) -> str:
    """MindSpore's GeLU is the tanh approximation."""
    return ctx.emit("Gelu", [ctx.tensor(0)], approximate="tanh")


def fast_gelu(ctx: NodeContext) -> str:
    """x / (1 + exp(-1.702 |x|)) * exp(0.851 (x - |x|)), which is x * sigmoid(1.702 x)."""
    x = ctx.tensor(0)
    dtype = ctx.dtype(0) or DType.FLOAT32
    scaled = ctx.emit("Mul", [x, ctx.add_const(np.array(1.702, dtype.numpy), "k")])
    return ctx.emit("Mul", [x, ctx.emit("Sigmoid", [scaled])])


def silu(ctx: NodeContext) -> str:
    x = ctx.tensor(0)
    return ctx.emit("Mul", [x, ctx.emit("Sigmoid", [x])])


def elu(ctx: NodeContext) -> str:
    return ctx.emit("Elu", [ctx.tensor(0)], alpha=float(ctx.param("alpha", 1.0)))


def leaky_relu(ctx: NodeContext) -> str:
    return ctx.emit("LeakyRelu", [ctx.tensor(0)], alpha=float(ctx.param("negative_slope", 0.01)))


def prelu(ctx: NodeContext) -> str:
    x, slope = ctx.tensor(0), ctx.tensor(1)
    rank = ctx.rank(0)
    if rank > 2:  # slope (C,) applies along axis 1
        slope = _reshape(ctx, slope, [-1] + [1] * (rank - 2))
    return ctx.emit("PRelu", [x, slope])


# ---------------------------------------------------------------- elementwise


def _unary(onnx_op: str) -> Callable[[NodeContext], str]:
    def convert(ctx: NodeContext) -> str:
        return ctx.emit(onnx_op, [ctx.tensor(0)])

    convert.__name__ = f"unary_{onnx_op}"
    return convert


def _binary(onnx_op: str) -> Callable[[NodeContext], str]:
    def convert(ctx: NodeContext) -> str:
        return ctx.emit(onnx_op, [ctx.tensor(0, like=1), ctx.tensor(1, like=0)])

    convert.__name__ = f"binary_{onnx_op}"
    return convert


def _scaled_binary(onnx_op: str) -> Callable[[NodeContext], str]:
    """AddExt/SubExt: input op alpha * other."""

    def convert(ctx: NodeContext) -> str:
        other = ctx.tensor(1, like=0)
        alpha = ctx.param("alpha", 1)
        if alpha != 1:
            other = ctx.emit("Mul", [other, ctx.tensor("alpha", like=0)])
        return ctx.emit(onnx_op, [ctx.tensor(0, like=1), other])

    return convert


def rsqrt(ctx: NodeContext) -> str:
    return ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.tensor(0)])])


def square(ctx: NodeContext) -> str:
    x = ctx.tensor(0)
    return ctx.emit("Mul", [x, x])


def clamp(ctx: NodeContext) -> str:
    bounds = []
    for key in ("min", "max"):
        bounds.append(ctx.tensor(key, like=0) if _given(ctx, key) else "")
    while bounds and not bounds[-1]:
        bounds.pop()
    return ctx.emit("Clip", [ctx.tensor(0)] + bounds)


def select(ctx: NodeContext) -> str:
    return ctx.emit("Where", [ctx.tensor(0), ctx.tensor(1, like=2), ctx.tensor(2, like=1)])


def cast(ctx: NodeContext) -> str:
    code = ctx.param("dtype")
    if int(code) not in TYPE_IDS:
        raise ctx.unsupported(f"cast to MindSpore type id {code}")
    return ctx.emit("Cast", [ctx.tensor(0)], to=TYPE_IDS[int(code)].value)


# ---------------------------------------------------------------- reductions


def _reduce(onnx_op: str, axis_arg: str = "axis", keep_arg: str = "keep_dims") -> Callable[[NodeContext], str]:
    def convert(ctx: NodeContext) -> str:
        axes = _axes(ctx, ctx.param(axis_arg, ()))
        if ctx.has("skip_mode") and ctx.param("skip_mode", False) and axes is None:
            return ctx.emit("Identity", [ctx.tensor(0)])
        if ctx.has("dtype") and ctx.param("dtype", None) is not None:
            raise ctx.unsupported("a dtype argument")
        inputs = [ctx.tensor(0)] + ([axes] if axes else [])
        return ctx.emit(onnx_op, inputs, keepdims=int(bool(ctx.param(keep_arg, False))))

    convert.__name__ = f"reduce_{onnx_op}"
    return convert


# ---------------------------------------------------------------- shape


def reshape(ctx: NodeContext) -> str:
    if ctx.is_const("shape"):
        shape = _ints(ctx.const("shape"))
        allowzero = int(0 in shape)  # MindSpore's 0 is a zero-sized dim, never ONNX's "copy"
        return ctx.emit("Reshape", [ctx.tensor(0), ctx.add_const(np.array(shape, np.int64), "shape")],
                        allowzero=allowzero)
    shape_name = ctx.tensor("shape")
    if ctx.dtype("shape") not in (DType.INT64, None):
        shape_name = ctx.emit("Cast", [shape_name], to=DType.INT64.value)
    return ctx.emit("Reshape", [ctx.tensor(0), shape_name])


def transpose(ctx: NodeContext) -> str:
    return ctx.transpose(ctx.tensor(0), _ints(ctx.const("dims")))


def flatten(ctx: NodeContext) -> str:
    return ctx.emit("Flatten", [ctx.tensor(0)], axis=1)


def squeeze(ctx: NodeContext) -> str:
    axes = _axes(ctx, ctx.param("axis", ()))
    return ctx.emit("Squeeze", [ctx.tensor(0)] + ([axes] if axes else []))


def expand_dims(ctx: NodeContext) -> str:
    return ctx.emit("Unsqueeze", [ctx.tensor(0), _axes(ctx, ctx.param("axis")) or ""])


def concat(ctx: NodeContext) -> str:
    return ctx.emit("Concat", ctx.tensors(0), axis=int(ctx.param("axis", 0)))


def stack(ctx: NodeContext) -> str:
    axis = int(ctx.attr("axis", 0))
    axes = ctx.add_const(np.array([axis], np.int64), "axis")
    parts = [ctx.emit("Unsqueeze", [t, axes]) for t in ctx.tensors(0)]
    return ctx.emit("Concat", parts, axis=axis)


def split(ctx: NodeContext) -> tuple:
    count = int(ctx.param("output_num", 1))
    outputs = ctx.emit("Split", [ctx.tensor(0)], n_out=count, axis=int(ctx.param("axis", 0)), num_outputs=count)
    return tuple(outputs) if count > 1 else (outputs,)


def gather(ctx: NodeContext) -> str:
    if int(ctx.param("batch_dims", 0)) != 0:
        raise ctx.unsupported("batch_dims other than 0")
    return ctx.emit("Gather", [ctx.tensor(0), ctx.tensor(1)], axis=int(ctx.param("axis")))


def strided_slice(ctx: NodeContext) -> str:
    begin, end, strides = (_ints(ctx.param(k)) for k in ("begin", "end", "strides"))
    masks = {k: int(ctx.param(k, 0)) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                                "shrink_axis_mask")}
    if masks["ellipsis_mask"] or masks["new_axis_mask"]:
        raise ctx.unsupported("ellipsis_mask/new_axis_mask")
    starts, ends = [], []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if s == 0:
            raise ctx.unsupported("a zero stride")
        starts.append((0 if s > 0 else -1) if masks["begin_mask"] >> i & 1 else b)
        if masks["shrink_axis_mask"] >> i & 1:
            ends.append(b + 1 if b != -1 else INT64_MAX)
        else:
            ends.append((INT64_MAX if s > 0 else INT64_MIN) if masks["end_mask"] >> i & 1 else e)
    axes = list(range(len(begin)))
    consts = [ctx.add_const(np.array(v, np.int64), n) for v, n in
              ((starts, "starts"), (ends, "ends"), (axes, "axes"), (strides, "steps"))]
    y = ctx.emit("Slice", [ctx.tensor(0)] + consts)
    shrink = [i for i in axes if masks["shrink_axis_mask"] >> i & 1]
    if shrink:
        y = ctx.emit("Squeeze", [y, ctx.add_const(np.array(shrink, np.int64), "shrink")])
    return y


def tile(ctx: NodeContext) -> str:
    reps = _ints(ctx.const("dims"))
    rank = ctx.rank(0)
    if len(reps) < rank:
        reps = [1] * (rank - len(reps)) + reps
    x = ctx.tensor(0)
    if len(reps) > rank:  # MindSpore prepends dims to the input
        x = ctx.emit("Unsqueeze", [x, ctx.add_const(np.arange(len(reps) - rank, dtype=np.int64), "axes")])
    return ctx.emit("Tile", [x, ctx.add_const(np.array(reps, np.int64), "repeats")])


def broadcast_to(ctx: NodeContext) -> str:
    shape = [1 if d == -1 else d for d in _ints(ctx.param("shape"))]  # -1 keeps the input's dim
    return ctx.emit("Expand", [ctx.tensor(0), ctx.add_const(np.array(shape, np.int64), "shape")])


def identity(ctx: NodeContext) -> str:
    return ctx.tensor(0)


# ---------------------------------------------------------------- the table

UNARY = elementwise.UNARY
BINARY = {**elementwise.BINARY, **elementwise.READ_ONLY_BINARY}

CONVERTERS: dict[str, Callable[[NodeContext], Any]] = {
    **{op: _unary(onnx_op) for op, onnx_op in UNARY.items()},
    **{op: _binary(onnx_op) for op, onnx_op in BINARY.items()},
    "AddExt": _scaled_binary("Add"), "SubExt": _scaled_binary("Sub"),
    "AddScalar": _scaled_binary("Add"), "SubScalar": _scaled_binary("Sub"),
    # nn
    "Conv2D": conv2d,
    "MaxPool": max_pool,
    "AvgPool": avg_pool,
    "MaxPool3D": max_pool3d,
    "AvgPool3D": avg_pool3d,
    "LRN": lrn,
    "BiasAdd": bias_add,
    "BatchNorm": batch_norm,
    "LayerNorm": layer_norm,
    "MatMul": matmul,
    "BatchMatMul": matmul,
    "MatMulExt": matmul,
    "BatchMatMulExt": matmul,
    "Dense": dense,
    "Softmax": softmax,
    "LogSoftmax": log_softmax,
    "ReLU6": relu6,
    "HSigmoid": hsigmoid,
    "GeLU": gelu,
    "FastGeLU": fast_gelu,
    "SiLU": silu,
    "Elu": elu,
    "LeakyReLUExt": leaky_relu,
    "PReLU": prelu,
    # elementwise
    "Rsqrt": rsqrt,
    "Square": square,
    "ClampScalar": clamp,
    "ClampTensor": clamp,
    "Select": select,
    "Cast": cast,
    # reductions
    "ReduceMean": _reduce("ReduceMean"),
    "ReduceSum": _reduce("ReduceSum"),
    "ReduceMax": _reduce("ReduceMax"),
    "ReduceMin": _reduce("ReduceMin"),
    "ReduceProd": _reduce("ReduceProd"),
    "SumExt": _reduce("ReduceSum", "dim", "keepdim"),
    "MeanExt": _reduce("ReduceMean", "dim", "keepdim"),
    # shape
    "Reshape": reshape,
    "Transpose": transpose,
    "Flatten": flatten,
    "Squeeze": squeeze,
    "ExpandDims": expand_dims,
    "Concat": concat,
    "Stack": stack,
    "Split": split,
    "Gather": gather,
    "StridedSlice": strided_slice,
    "Tile": tile,
    "BroadcastTo": broadcast_to,
    "Identity": identity,
}
