"""litert IR operators -> MindSpore primitives: the writer's emitter table.

Each emitter receives a :class:`~.writer.NodeWriter` for one IR node,
emits MindSpore nodes with ``ctx.call`` and binds the IR outputs to them.
:data:`WRITERS` at the end lists every operator the writer maps; simple
one-to-one operators are in :data:`UNARY` and :data:`BINARY`.

Choices that keep MindSpore's CPU kernels happy: ONNX MatMul of other than
two matrices becomes ``MatMulExt`` (numpy broadcasting; ``BatchMatMul``
does not broadcast on CPU); pooling with explicit or asymmetric padding or
``ceil_mode`` becomes ``MaxPool3D``/``AvgPool3D`` over a unit depth axis
(2-D MaxPool/AvgPool only know SAME and VALID); LeakyRelu is written as
``Maximum(x, alpha * x)`` (``LeakyReLUExt`` has no CPU kernel); LRN is
written out (see :func:`lrn`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from litert.activations import ACTIVATIONS
from litert.ir import DType

from ..registry import by_domain
from . import elementwise
from .signatures import TYPE_ID_OF
from .writer import NodeWriter

NCHW = 0  # the data_format enum of primitive functions
PAD_MODE = {"PAD": 0, "SAME": 1, "VALID": 2}
NAMES_1 = {"input_names": ["x"], "output_names": ["output"]}


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(values).reshape(-1))


def _scalar(ctx: NodeWriter, value: float, like: int = 0) -> np.ndarray:
    """A 0-d tensor literal of input ``like``'s dtype (what MindSpore writes for ``x op 0.5``)."""
    return np.array(value, dtype=ctx.dtype(like).numpy)


def _spatial_attrs(ctx: NodeWriter, n: int = 2) -> tuple[list[int], list[int], list[int]]:
    kernel = list(ctx.attr("kernel_shape") or ctx.static_shape(1)[2:])
    strides = list(ctx.attr("strides") or [1] * n)
    dilations = list(ctx.attr("dilations") or [1] * n)
    return kernel, strides, dilations


def _same_pads(ctx: NodeWriter, kernel, strides, dilations, lower: bool) -> list[int]:
    """Explicit ONNX pads (begin..., end...) of SAME padding for the input's static shape."""
    begin, end = [], []
    for size, k, s, d in zip(ctx.static_shape(0)[2:], kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(large if lower else small)
        end.append(small if lower else large)
    return begin + end


def _explicit_pads(ctx: NodeWriter, kernel, strides, dilations) -> list[int] | None:
    """ONNX pads (begin..., end...); None for SAME_UPPER, which is MindSpore's ``same``."""
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad == "SAME_UPPER":
        return None
    if auto_pad == "VALID":
        return [0] * (2 * len(kernel))
    if auto_pad == "SAME_LOWER":
        return _same_pads(ctx, kernel, strides, dilations, lower=True)
    return list(ctx.attr("pads") or [0] * (2 * len(kernel)))


# ---------------------------------------------------------------- activations

def _activation(ctx: NodeWriter, ref: str, name: str | None, params: list[float] | None) -> str:
    """Apply a fused activation (FusedConv / FusedGemm ``activation``)."""
    if not name:
        return ref
    spec = ACTIVATIONS.get(name)
    if spec is None:
        raise ctx.unsupported(f"fused activation {name}")
    p = spec.complete(params)  # every parameter, in the table's order
    if name == "Relu":
        return ctx.call("ReLU", [ref])
    if name in ("Sigmoid", "Tanh"):
        return ctx.call(name, [ref])
    if name == "LeakyRelu":
        return _leaky(ctx, ref, p[0])
    if name == "Clip":
        return _clip(ctx, ref, *(None if math.isinf(v) else v for v in p))
    if name == "HardSigmoid":
        return _hard_sigmoid(ctx, ref, p[0], p[1])
    raise ctx.unsupported(f"fused activation {name}")


def _leaky(ctx: NodeWriter, ref: str, alpha: float) -> str:
    if not 0.0 <= alpha <= 1.0:
        raise ctx.unsupported(f"LeakyRelu alpha {alpha} outside [0, 1]")
    return ctx.call("Maximum", [ref, ctx.call("Muls", [ref, float(alpha)])])


def _clip(ctx: NodeWriter, ref: str, lo, hi) -> str:
    lo = None if lo is None else float(lo)
    hi = None if hi is None else float(hi)
    if lo == 0.0 and hi == 6.0:
        return ctx.call("ReLU6", [ref])
    if lo == 0.0 and hi is None:
        return ctx.call("ReLU", [ref])
    return ctx.call("ClampScalar", [ref, lo, hi])


def _hard_sigmoid(ctx: NodeWriter, ref: str, alpha: float, beta: float) -> str:
    if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and math.isclose(beta, 0.5, rel_tol=1e-6):
        return ctx.call("HSigmoid", [ref])
    shifted = ctx.call("Add", [ctx.call("Muls", [ref, float(alpha)]), _scalar(ctx, beta)])
    return ctx.call("ClampScalar", [shifted, 0.0, 1.0])


# ---------------------------------------------------------------- nn


def conv(ctx: NodeWriter) -> None:
    _conv(ctx, None, None)


def fused_conv(ctx: NodeWriter) -> None:
    _conv(ctx, ctx.attr("activation"), ctx.attr("activation_params"))


def _conv(ctx: NodeWriter, activation, params) -> None:
    if ctx.rank(0) != 4:
        raise ctx.unsupported(f"only 2-D convolution is written (input rank {ctx.rank(0)})")
    kernel, strides, dilations = _spatial_attrs(ctx)
    group = int(ctx.attr("group", 1))
    pads = _explicit_pads(ctx, kernel, strides, dilations)
    if pads is None:
        pad_mode, pad = "same", (0, 0, 0, 0)
    else:
        pad = (pads[0], pads[2], pads[1], pads[3])  # ONNX (t, l, b, r) -> MindSpore (t, b, l, r)
        pad_mode = "pad" if any(pad) else "valid"
    attrs = {
        "kernel_size": tuple(kernel), "mode": 1, "out_channel": int(ctx.static_shape(1)[0]),
        "pad_mode": pad_mode, "pad": pad, "pad_list": pad, "stride": (1, 1, *strides),
        "dilation": (1, 1, *dilations), "group": group, "groups": group, "format": "NCHW",
        "input_names": ["x", "w"], "output_names": ["output"],
    }
    y = ctx.call("Conv2D", [ctx.x(0), ctx.x(1)], attrs, function=False, abstract=ctx.out_abstract())
    if ctx.has(2):
        y = ctx.call("BiasAdd", [y, ctx.x(2), NCHW])
    if ctx.has(3):  # FusedConv's residual input Z: activation(conv + bias + Z)
        y = ctx.call("Add", [y, ctx.x(3)])
    ctx.bind(_activation(ctx, y, activation, params))


def batch_norm(ctx: NodeWriter) -> None:
    if ctx.attr("training_mode", 0):
        raise ctx.unsupported("training-mode BatchNormalization")
    args = [ctx.x(i) for i in range(5)] + [False, float(ctx.attr("epsilon", 1e-5)),
                                           0.1, NCHW]
    ctx.bind(ctx.item(ctx.call("BatchNorm", args), 0))


def layer_norm(ctx: NodeWriter) -> None:
    axis = int(ctx.attr("axis", -1))
    bias = ctx.x(2) if ctx.has(2) else ctx.w.literal(np.zeros(ctx.static_shape(1), ctx.dtype(1).numpy))
    args = [ctx.x(0), ctx.x(1), bias, axis, axis, float(ctx.attr("epsilon", 1e-5))]
    ctx.bind(ctx.item(ctx.call("LayerNorm", args), 0))


def lrn(ctx: NodeWriter) -> None:
    """x / (bias + alpha/size * sum of squares over the channel window) ** beta.

    Written out rather than as MindSpore's LRN primitive, whose CPU kernel
    (MindSpore 2.10) fails with "could not execute a primitive" from 16
    channels on.  The window sum is a 3-D average pool over (C, 1, 1)
    counting the zero padding, i.e. sum / size.
    """
    size = int(ctx.attr("size"))
    alpha, beta, bias = (float(ctx.attr(k, d)) for k, d in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)))
    x = ctx.x(0)
    if ctx.rank(0) != 4:
        raise ctx.unsupported(f"LRN over a rank-{ctx.rank(0)} input")
    below, above = (size - 1) // 2, size - 1 - (size - 1) // 2
    pad = (below, above, 0, 0, 0, 0)
    attrs = {"kernel_size": (1, 1, size, 1, 1), "strides": (1, 1, 1, 1, 1), "format": "NCDHW", "pad_mode": "PAD",
             "pad": pad, "pad_list": pad, "ceil_mode": False, "count_include_pad": True, "divisor_override": 0,
             "input_names": ["input"], "output_names": ["output"]}
    squares = ctx.call("ExpandDims", [ctx.call("Mul", [x, x]), 1])
    mean = ctx.call("Squeeze", [ctx.call("AvgPool3D", [squares], attrs, function=False), (1,)])
    scale = ctx.call("Add", [ctx.call("Muls", [mean, alpha]), _scalar(ctx, bias)])
    ctx.bind(ctx.call("Mul", [x, ctx.call("Pow", [scale, _scalar(ctx, -beta)])]))


def max_pool(ctx: NodeWriter) -> None:
    _pool(ctx, "max")


def average_pool(ctx: NodeWriter) -> None:
    _pool(ctx, "avg")


def _pool(ctx: NodeWriter, kind: str) -> None:
    if ctx.rank(0) != 4:
        raise ctx.unsupported(f"only 2-D pooling is written (input rank {ctx.rank(0)})")
    if len(ctx.node.outputs) > 1 and ctx.node.outputs[1]:
        raise ctx.unsupported("MaxPool indices output")
    kernel = list(ctx.attr("kernel_shape"))
    strides = list(ctx.attr("strides") or [1, 1])
    dilations = list(ctx.attr("dilations") or [1, 1])
    if any(d != 1 for d in dilations):
        raise ctx.unsupported("dilated pooling")
    pads = _explicit_pads(ctx, kernel, strides, dilations)
    ceil = int(ctx.attr("ceil_mode", 0))
    include_pad = int(ctx.attr("count_include_pad", 0))
    if pads is None and (kind == "max" or not include_pad):
        mode = "SAME"
    elif pads is not None and not any(pads) and not ceil:
        mode = "VALID"
    else:
        if pads is None:  # SAME averaging over the padding too: make the padding explicit
            pads = _same_pads(ctx, kernel, strides, dilations, lower=False)
        ctx.bind(_pool3d(ctx, kind, kernel, strides, pads, ceil, include_pad))
        return
    if kind == "max":
        attrs = {"kernel_size": (1, 1, *kernel), "strides": (1, 1, *strides), "pad_mode": mode,
                 "format": "NCHW", **NAMES_1}
        ctx.bind(ctx.call("MaxPool", [ctx.x(0)], attrs, function=False))
    else:
        ctx.bind(ctx.call("AvgPool", [ctx.x(0), tuple(kernel), tuple(strides), PAD_MODE[mode], NCHW]))


def _pool3d(ctx: NodeWriter, kind: str, kernel, strides, pads, ceil: int, include_pad: int) -> str:
    """2-D pooling with explicit (t, l, b, r) pads as 3-D pooling over a unit depth axis."""
    pad = (0, 0, pads[0], pads[2], pads[1], pads[3])  # (front, back, top, bottom, left, right)
    common = {"kernel_size": (1, 1, 1, *kernel), "strides": (1, 1, 1, *strides), "format": "NCDHW",
              "pad_list": pad, "output_names": ["output"]}
    if kind == "max":
        attrs = {**common, "pad_mode": "CALCULATED", "ceil_mode": ceil, "input_names": ["x"]}
        op = "MaxPool3D"
    else:
        attrs = {**common, "pad_mode": "PAD", "pad": pad, "ceil_mode": bool(ceil),
                 "count_include_pad": bool(include_pad), "divisor_override": 0, "input_names": ["input"]}
        op = "AvgPool3D"
    deep = ctx.call("ExpandDims", [ctx.x(0), 2])
    return ctx.call("Squeeze", [ctx.call(op, [deep], attrs, function=False), (2,)])


def global_pool(reduce_op: str) -> Callable[[NodeWriter], None]:
    def emit(ctx: NodeWriter) -> None:
        axes = tuple(range(2, ctx.rank(0)))
        ctx.bind(ctx.call(reduce_op, [ctx.x(0), axes, True]))

    return emit


def gemm(ctx: NodeWriter) -> None:
    _gemm(ctx, None, None)


def fused_gemm(ctx: NodeWriter) -> None:
    params = [ctx.attr(k) for k in ("activation_alpha", "activation_beta") if ctx.attr(k) is not None]
    _gemm(ctx, ctx.attr("activation"), params)


def _gemm(ctx: NodeWriter, activation, params) -> None:
    y = ctx.call("MatMul", [ctx.x(0), ctx.x(1), bool(ctx.attr("transA", 0)), bool(ctx.attr("transB", 0))],
                 abstract=ctx.out_abstract())
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    if alpha != 1.0:
        y = ctx.call("Muls", [y, alpha])
    if ctx.has(2):
        c_const = ctx.const(2)
        if c_const is not None and beta != 1.0:
            c = ctx.w.literal(np.asarray(c_const * beta, c_const.dtype))
        else:
            c = ctx.x(2) if beta == 1.0 else ctx.call("Muls", [ctx.x(2), beta])
        y = ctx.call("BiasAdd", [y, c, NCHW]) if ctx.rank(2) == 1 else ctx.call("Add", [y, c])
    ctx.bind(_activation(ctx, y, activation, params))


def matmul(ctx: NodeWriter) -> None:
    if ctx.rank(0) == 2 and ctx.rank(1) == 2:
        ctx.bind(ctx.call("MatMul", [ctx.x(0), ctx.x(1), False, False]))
    else:
        ctx.bind(ctx.call("MatMulExt", [ctx.x(0), ctx.x(1)]))


def softmax(ctx: NodeWriter) -> None:
    ctx.bind(ctx.call("Softmax", [ctx.x(0), (int(ctx.attr("axis", -1)),)]))


def log_softmax(ctx: NodeWriter) -> None:
    ctx.bind(ctx.call("LogSoftmax", [ctx.x(0), int(ctx.attr("axis", -1))]))


# ---------------------------------------------------------------- elementwise


def _unary(op: str) -> Callable[[NodeWriter], None]:
    def emit(ctx: NodeWriter) -> None:
        ctx.bind(ctx.call(op, [ctx.x(0)]))

    return emit


def _binary(op: str) -> Callable[[NodeWriter], None]:
    def emit(ctx: NodeWriter) -> None:
        ctx.bind(ctx.call(op, [ctx.x(0), ctx.x(1)]))

    return emit


def _variadic(op: str) -> Callable[[NodeWriter], None]:
    """Sum/Max/Min of any number of inputs as a chain of binary primitives."""

    def emit(ctx: NodeWriter) -> None:
        refs = [ctx.x(i) for i in range(len(ctx.node.inputs)) if ctx.has(i)]
        acc = refs[0]
        for ref in refs[1:]:
            acc = ctx.call(op, [acc, ref])
        ctx.bind(acc)

    return emit


def clip(ctx: NodeWriter) -> None:
    bounds: list[float | None] = []
    for i in (1, 2):
        const = ctx.const(i) if ctx.has(i) else None
        if ctx.has(i) and const is None:
            break
        bounds.append(None if const is None else float(const))
    if len(bounds) < 2:  # bounds computed at run time
        args = [ctx.x(0)] + [ctx.x(i) if ctx.has(i) else None for i in (1, 2)]
        ctx.bind(ctx.call("ClampTensor", args))
    else:
        ctx.bind(_clip(ctx, ctx.x(0), *bounds))


def hard_sigmoid(ctx: NodeWriter) -> None:
    ctx.bind(_hard_sigmoid(ctx, ctx.x(0), float(ctx.attr("alpha", 0.2)), float(ctx.attr("beta", 0.5))))


def leaky_relu(ctx: NodeWriter) -> None:
    ctx.bind(_leaky(ctx, ctx.x(0), float(ctx.attr("alpha", 0.01))))


def gelu(ctx: NodeWriter) -> None:
    x = ctx.x(0)
    if ctx.attr("approximate", "none") == "tanh":
        ctx.bind(ctx.call("GeLU", [x]))
        return
    # exact GELU: 0.5 x (1 + erf(x / sqrt 2)); MindSpore's GeLU is the tanh approximation
    erf = ctx.call("Erf", [ctx.call("Muls", [x, float(1 / np.sqrt(2.0))])])
    ctx.bind(ctx.call("Mul", [ctx.call("Muls", [x, 0.5]), ctx.call("Add", [erf, _scalar(ctx, 1.0)])]))


def cast(ctx: NodeWriter) -> None:
    target = DType(int(ctx.attr("to")))
    if target not in TYPE_ID_OF:
        raise ctx.unsupported(f"cast to {target}")
    ctx.bind(ctx.call("Cast", [ctx.x(0), TYPE_ID_OF[target]]))


def where(ctx: NodeWriter) -> None:
    ctx.bind(ctx.call("Select", [ctx.x(0), ctx.x(1), ctx.x(2)]))


def identity(ctx: NodeWriter) -> None:
    ctx.bind(ctx.x(0))


# ---------------------------------------------------------------- reductions


def _reduce(op: str) -> Callable[[NodeWriter], None]:
    def emit(ctx: NodeWriter) -> None:
        if ctx.has(1):
            given = ctx.const(1)
            if given is None:
                raise ctx.unsupported("axes computed at run time")
            axes = _ints(given)
        else:
            axes = tuple(int(a) for a in ctx.attr("axes") or ())
        if not axes and ctx.attr("noop_with_empty_axes", 0):
            ctx.bind(ctx.x(0))
            return
        ctx.bind(ctx.call(op, [ctx.x(0), axes, bool(ctx.attr("keepdims", 1))]))

    return emit


# ---------------------------------------------------------------- shape


def _const_input(ctx: NodeWriter, i: int, what: str) -> np.ndarray:
    value = ctx.const(i)
    if value is None:
        raise ctx.unsupported(f"{what} computed at run time")
    return value


def reshape(ctx: NodeWriter) -> None:
    shape = list(_ints(_const_input(ctx, 1, "a target shape")))
    if 0 in shape and not ctx.attr("allowzero", 0):
        shape = _resolve_copied_dims(ctx, shape)
    ctx.bind(ctx.call("Reshape", [ctx.x(0), tuple(shape)]))


def _resolve_copied_dims(ctx: NodeWriter, shape: list[int]) -> list[int]:
    """ONNX's 0 copies the input dim; MindSpore has no such marker: use the static dim, or -1 for
    one dynamic dim when the shape has no -1 already."""
    source = ctx.shape(0) or ()
    dynamic = [i for i, d in enumerate(shape) if d == 0 and not (i < len(source) and isinstance(source[i], int))]
    if len(dynamic) > 1 or (dynamic and -1 in shape):
        raise ctx.unsupported(f"target shape {shape} copies several dynamic dims of {source}")
    return [(-1 if i in dynamic else source[i]) if d == 0 else d for i, d in enumerate(shape)]


def flatten(ctx: NodeWriter) -> None:
    axis = int(ctx.attr("axis", 1))
    rank = ctx.rank(0)
    axis = axis + rank if axis < 0 else axis
    if axis == 1:
        ctx.bind(ctx.call("Flatten", [ctx.x(0)]))
        return
    shape = ctx.static_shape(0)
    target = (int(np.prod(shape[:axis], dtype=np.int64)), -1)
    ctx.bind(ctx.call("Reshape", [ctx.x(0), target]))


def transpose(ctx: NodeWriter) -> None:
    perm = ctx.attr("perm") or list(reversed(range(ctx.rank(0))))
    ctx.bind(ctx.call("Transpose", [ctx.x(0), tuple(int(p) for p in perm)]))


def unsqueeze(ctx: NodeWriter) -> None:
    axes = _ints(_const_input(ctx, 1, "axes"))
    out_rank = ctx.rank(0) + len(axes)
    ref = ctx.x(0)
    for axis in sorted(a + out_rank if a < 0 else a for a in axes):
        ref = ctx.call("ExpandDims", [ref, axis])
    ctx.bind(ref)


def squeeze(ctx: NodeWriter) -> None:
    axes = _ints(_const_input(ctx, 1, "axes")) if ctx.has(1) else ()
    ctx.bind(ctx.call("Squeeze", [ctx.x(0), axes]))


def concat(ctx: NodeWriter) -> None:
    refs = [ctx.x(i) for i in range(len(ctx.node.inputs)) if ctx.has(i)]
    tup = ctx.call("MakeTuple", refs, function=False)
    ctx.bind(ctx.call("Concat", [tup, int(ctx.attr("axis"))]))


def gather(ctx: NodeWriter) -> None:
    ctx.bind(ctx.call("Gather", [ctx.x(0), ctx.x(1), int(ctx.attr("axis", 0)), 0]))


def slice_(ctx: NodeWriter) -> None:
    rank = ctx.rank(0)
    starts = _ints(_const_input(ctx, 1, "starts"))
    ends = _ints(_const_input(ctx, 2, "ends"))
    axes = _ints(_const_input(ctx, 3, "axes")) if ctx.has(3) else tuple(range(len(starts)))
    steps = _ints(_const_input(ctx, 4, "steps")) if ctx.has(4) else (1,) * len(starts)
    begin, end, strides = [0] * rank, [0] * rank, [1] * rank
    begin_mask = end_mask = 0
    for axis in range(rank):
        begin_mask |= 1 << axis
        end_mask |= 1 << axis
    big = np.iinfo(np.int32).max
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a + rank if a < 0 else a
        begin[a], strides[a] = s, st
        begin_mask &= ~(1 << a)
        if (st > 0 and e >= big) or (st < 0 and e <= -big):
            continue  # to the end: keep the end_mask bit
        end[a] = e
        end_mask &= ~(1 << a)
    ctx.bind(ctx.call("StridedSlice", [ctx.x(0), tuple(begin), tuple(end), tuple(strides), begin_mask, end_mask,
                                       0, 0, 0]))


def tile(ctx: NodeWriter) -> None:
    ctx.bind(ctx.call("Tile", [ctx.x(0), _ints(_const_input(ctx, 1, "repeats"))]))


def expand(ctx: NodeWriter) -> None:
    shape = _ints(_const_input(ctx, 1, "a target shape"))
    target = tuple(np.broadcast_shapes(ctx.static_shape(0), shape))
    ctx.bind(ctx.call("BroadcastTo", [ctx.x(0), target]))


def split(ctx: NodeWriter) -> None:
    count = len(ctx.node.outputs)
    axis = int(ctx.attr("axis", 0))
    if ctx.has(1):
        sizes = _ints(_const_input(ctx, 1, "split sizes"))
        if len(set(sizes)) != 1:
            raise ctx.unsupported(f"unequal split sizes {list(sizes)}")
    tup = ctx.call("Split", [ctx.x(0), axis, count])
    for k in range(count):
        ctx.bind(ctx.item(tup, k), k)


def dropout(ctx: NodeWriter) -> None:
    ctx.bind(ctx.x(0))


# ---------------------------------------------------------------- the table

UNARY = elementwise.inverse(elementwise.UNARY)
BINARY = elementwise.inverse(elementwise.BINARY)

WRITERS: dict[tuple[str, str], Callable[[NodeWriter], Any]] = {
    **by_domain({
        "": {
            **{op: _unary(ms_op) for op, ms_op in UNARY.items()},
            **{op: _binary(ms_op) for op, ms_op in BINARY.items()},
            "Sum": _variadic("Add"),
            "Max": _variadic("Maximum"),
            "Min": _variadic("Minimum"),
            # nn
            "Conv": conv,
            "BatchNormalization": batch_norm,
            "LayerNormalization": layer_norm,
            "LRN": lrn,
            "MaxPool": max_pool,
            "AveragePool": average_pool,
            "GlobalAveragePool": global_pool("ReduceMean"),
            "GlobalMaxPool": global_pool("ReduceMax"),
            "Gemm": gemm,
            "MatMul": matmul,
            "Softmax": softmax,
            "LogSoftmax": log_softmax,
            # elementwise
            "Clip": clip,
            "HardSigmoid": hard_sigmoid,
            "LeakyRelu": leaky_relu,
            "Gelu": gelu,
            "Cast": cast,
            "Where": where,
            "Identity": identity,
            "Dropout": dropout,
            # reductions
            "ReduceMean": _reduce("ReduceMean"),
            "ReduceSum": _reduce("ReduceSum"),
            "ReduceMax": _reduce("ReduceMax"),
            "ReduceMin": _reduce("ReduceMin"),
            "ReduceProd": _reduce("ReduceProd"),
            # shape
            "Reshape": reshape,
            "Flatten": flatten,
            "Transpose": transpose,
            "Unsqueeze": unsqueeze,
            "Squeeze": squeeze,
            "Concat": concat,
            "Gather": gather,
            "Slice": slice_,
            "Tile": tile,
            "Expand": expand,
            "Split": split,
        },
        "com.microsoft": {
            "FusedConv": fused_conv,
            "FusedGemm": fused_gemm,
        },
    }),
}
