"""TFLite builtin operators -> IR operators (ONNX semantics), one function per operator.

Each function receives the :class:`~.reader.GraphBuilder` and the
:class:`~.tflfile.TflOperator` (options already read into ``op.options``) and
emits IR nodes through the builder.  Tensors stay NHWC as TFLite stores them:
the operators whose IR form is channels-first (convolutions, pooling, LRN,
resizing, depth/space moves) are wrapped in Transposes
(:meth:`~litert_formats.emitter.NodeEmitter.channels_first`); every other operator reads
its tensors as stored.  Fused activations become a separate node.

:data:`READERS` is the registry (BuiltinOperator name -> reader); an operator
absent from it is reported as unsupported, naming the operator.  The
coverage table in ``docs/tflite-coverage.md`` is generated from it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from litert.ir import DType
from litert.schema.inference.nn import same_pads

from ..transposes import swap_last_axes
from .types import ACTIVATION_NAMES, MIRROR_PAD_MODES, PADDING, TENSOR_TYPES

INT64_MAX = np.iinfo(np.int64).max

# ---------------------------------------------------------------- activations


def _clip(lo, hi):
    def emit(b, x, out, op):
        b.emit("Clip", [x, b.const(np.float32(lo), "clip_min"), b.const(np.float32(hi), "clip_max")], [out], op)
    return emit


def _simple(op_type):
    def emit(b, x, out, op):
        b.emit(op_type, [x], [out], op)
    return emit


def _sign_bit(b, x, out, op):
    raise b.unsupported(op, "fused activation SIGN_BIT")


#: ActivationFunctionType member -> emitter(builder, input, output, operator)
FUSED_ACTIVATIONS = {
    "RELU": _simple("Relu"),
    "RELU_N1_TO_1": _clip(-1.0, 1.0),
    "RELU6": _clip(0.0, 6.0),
    "TANH": _simple("Tanh"),
    "SIGN_BIT": _sign_bit,
}


def fused(b, op, out: str) -> str:
    """Where the operator itself writes: ``out``, or a fresh name its fused activation then reads."""
    act = ACTIVATION_NAMES.get(int(op.options.get("fused_activation_function", 0)), None)
    if act is None:
        raise b.unsupported(op, f"fused activation #{op.options.get('fused_activation_function')}")
    if act == "NONE":
        return out
    inner = b.fresh(f"{out}_preact")
    b.after_act.append(lambda: FUSED_ACTIVATIONS[act](b, inner, out, op))
    return inner


# ---------------------------------------------------------------- convolution and pooling


def _window(b, op, kernel_hw, dilation_hw=(1, 1)) -> dict:
    o = op.options
    strides = [int(o.get("stride_h", 1)), int(o.get("stride_w", 1))]
    attrs: dict = {"kernel_shape": [int(k) for k in kernel_hw], "strides": strides}
    if int(o.get("padding", 0)) == PADDING["SAME"]:
        shape = b.shape(op, 0)
        if len(shape) != 4 or min(shape[1:3]) <= 0:
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            top, bottom = same_pads(shape[1], kernel_hw[0], strides[0], dilation_hw[0])
            left, right = same_pads(shape[2], kernel_hw[1], strides[1], dilation_hw[1])
            attrs["pads"] = [top, left, bottom, right]
    return attrs


def conv_2d(b, op) -> None:
    w = b.const_value(op, 1)
    if w is None or w.ndim != 4:
        raise b.unsupported(op, "a computed or non-4-D convolution filter")
    _conv(b, op, w, (0, 3, 1, 2), lambda channels: int(channels // w.shape[3]) if w.shape[3] and channels > 0 else 1)


def depthwise_conv_2d(b, op) -> None:
    w = b.const_value(op, 1)
    if w is None or w.ndim != 4 or w.shape[0] != 1:
        raise b.unsupported(op, "a computed or non-[1,H,W,C] depthwise filter")
    _conv(b, op, w, (3, 0, 1, 2), int)


def _conv(b, op, w, filter_perm, group_of) -> None:
    """CONV_2D and DEPTHWISE_CONV_2D as a channels-first Conv: the constant filter ``w`` permuted to OIHW by
    ``filter_perm``, ``group_of(input channels)`` groups."""
    o = op.options
    dil = [int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))]
    attrs = _window(b, op, w.shape[1:3], dil)
    attrs["dilations"] = dil
    attrs["group"] = group_of(b.shape(op, 0)[3])
    inputs = [b.inp(op, 0), b.permuted(b.inp(op, 1), filter_perm)]
    if b.has_input(op, 2):
        inputs.append(b.inp(op, 2))
    b.channels_first(b.node("Conv", inputs, [fused(b, op, b.out(op))], op, **attrs))


def transpose_conv(b, op) -> None:
    """Inputs: output shape, OHWI filter, data, optional bias; padding from the declared output size."""
    size = b.const_value(op, 0)
    w = b.const_value(op, 1)
    if size is None or w is None or w.ndim != 4:
        raise b.unsupported(op, "a computed output shape or filter")
    in_shape = b.shape(op, 2)
    strides = [int(op.options.get("stride_h", 1)), int(op.options.get("stride_w", 1))]
    pads, extra = [0, 0, 0, 0], [0, 0]
    for axis in range(2):
        full = (in_shape[1 + axis] - 1) * strides[axis] + w.shape[1 + axis]
        total = max(0, full - int(size[1 + axis]))
        before = total // 2 if int(op.options.get("padding", 0)) == PADDING["SAME"] else 0
        pads[axis], pads[axis + 2] = before, total - before
        extra[axis] = int(size[1 + axis]) - (full - total)
    attrs = {"kernel_shape": [int(w.shape[1]), int(w.shape[2])], "strides": strides, "pads": pads}
    if any(extra):
        attrs["output_padding"] = extra
    inputs = [b.inp(op, 2), b.permuted(b.inp(op, 1), (3, 0, 1, 2))]
    if b.has_input(op, 3):
        inputs.append(b.inp(op, 3))
    b.channels_first(b.node("ConvTranspose", inputs, [fused(b, op, b.out(op))], op, **attrs))


def _pool(op_type: str):
    def read(b, op) -> None:
        o = op.options
        attrs = _window(b, op, [int(o.get("filter_height", 1)), int(o.get("filter_width", 1))])
        b.channels_first(b.node(op_type, [b.inp(op, 0)], [fused(b, op, b.out(op))], op, **attrs))
    return read


def local_response_normalization(b, op) -> None:
    """TFLite sums squares over ``2r+1`` channels with ``alpha`` per element; ONNX's LRN divides alpha by size."""
    o = op.options
    size = 2 * int(o.get("radius", 5)) + 1
    b.channels_first(b.node("LRN", [b.inp(op, 0)], [b.out(op)], op, size=size,
                            alpha=float(o.get("alpha", 1.0)) * size, beta=float(o.get("beta", 0.5)),
                            bias=float(o.get("bias", 1.0))))


def _depth_space(op_type: str):
    def read(b, op) -> None:
        attrs: dict = {"blocksize": int(op.options.get("block_size", 1))}
        if op_type == "DepthToSpace":
            attrs["mode"] = "DCR"
        b.channels_first(b.node(op_type, [b.inp(op, 0)], [b.out(op)], op, **attrs))
    return read


def _resize(mode: str):
    def read(b, op) -> None:
        o = op.options
        size = b.const_value(op, 1)
        if size is None:
            raise b.unsupported(op, "a computed output size")
        n, _, _, c = b.shape(op, 0)
        attrs = {"mode": mode}
        if o.get("align_corners"):
            attrs["coordinate_transformation_mode"] = "align_corners"
            if mode == "nearest":
                attrs["nearest_mode"] = "round_prefer_ceil"
        elif o.get("half_pixel_centers"):  # nearest: floor((x + 0.5) * scale) = round_prefer_ceil of half_pixel
            attrs["coordinate_transformation_mode"] = "half_pixel"
            if mode == "nearest":
                attrs["nearest_mode"] = "round_prefer_ceil"
        else:
            attrs["coordinate_transformation_mode"] = "asymmetric"
            if mode == "nearest":
                attrs["nearest_mode"] = "floor"
        sizes = b.int64([n, c, int(size[0]), int(size[1])], "resize_sizes")
        b.channels_first(b.node("Resize", [b.inp(op, 0), "", "", sizes], [b.out(op)], op, **attrs))
    return read


# ---------------------------------------------------------------- matrix products


def fully_connected(b, op) -> None:
    """``y = x W^T + b``; ``x`` flattened to rows of W's depth unless ``keep_num_dims``."""
    w = b.const_value(op, 1)
    x, weight = b.inp(op, 0), b.inp(op, 1)
    if w is not None:
        depth = w.shape[1]
        weight_t = b.permuted(weight, (1, 0))
    else:
        depth = b.shape(op, 1)[1]
        weight_t = b.emit("Transpose", [weight], None, op, perm=[1, 0])[0]
    if not op.options.get("keep_num_dims") and len(b.shape(op, 0)) != 2:
        x = b.emit("Reshape", [x, b.int64([-1, depth], "fc_shape")], None, op)[0]
    out = fused(b, op, b.out(op))
    if b.has_input(op, 2):
        b.emit("Add", [b.emit("MatMul", [x, weight_t], None, op)[0], b.inp(op, 2)], [out], op)
    else:
        b.emit("MatMul", [x, weight_t], [out], op)


def batch_matmul(b, op) -> None:
    x, y = b.inp(op, 0), b.inp(op, 1)
    for flag, i in (("adj_x", 0), ("adj_y", 1)):
        if op.options.get(flag):
            perm = swap_last_axes(len(b.shape(op, i)))
            if i == 0:
                x = b.permuted(x, perm)
            else:
                y = b.permuted(y, perm)
    b.emit("MatMul", [x, y], [b.out(op)], op)


# ---------------------------------------------------------------- elementwise


def _binary(op_type: str):
    def read(b, op) -> None:
        b.emit(op_type, [b.inp(op, 0), b.inp(op, 1)], [fused(b, op, b.out(op))], op)
    return read


def _unary(op_type: str, **fixed):
    def read(b, op) -> None:
        b.emit(op_type, [b.inp(op, 0)], [b.out(op)], op, **fixed)
    return read


def _clip_op(lo, hi):
    def read(b, op) -> None:
        _clip(lo, hi)(b, b.inp(op, 0), b.out(op), op)
    return read


def _then(first: str, second: str):
    """``second(first(a, b))``: NOT_EQUAL, FLOOR_DIV."""
    def read(b, op) -> None:
        b.emit(second, [b.emit(first, [b.inp(op, 0), b.inp(op, 1)], None, op)[0]], [b.out(op)], op)
    return read


def squared_difference(b, op) -> None:
    diff = b.emit("Sub", [b.inp(op, 0), b.inp(op, 1)], None, op)[0]
    b.emit("Mul", [diff, diff], [b.out(op)], op)


def square(b, op) -> None:
    x = b.inp(op, 0)
    b.emit("Mul", [x, x], [b.out(op)], op)


def rsqrt(b, op) -> None:
    b.emit("Reciprocal", [b.emit("Sqrt", [b.inp(op, 0)], None, op)[0]], [b.out(op)], op)


def leaky_relu(b, op) -> None:
    b.emit("LeakyRelu", [b.inp(op, 0)], [b.out(op)], op, alpha=float(op.options.get("alpha", 0.2)))


def gelu(b, op) -> None:
    b.emit("Gelu", [b.inp(op, 0)], [b.out(op)], op, approximate="tanh" if op.options.get("approximate") else "none")


def prelu(b, op) -> None:
    b.emit("PRelu", [b.inp(op, 0), b.inp(op, 1)], [b.out(op)], op)


def _softmax(op_type: str):
    def read(b, op) -> None:
        x = b.inp(op, 0)
        beta = float(op.options.get("beta", 1.0)) if op_type == "Softmax" else 1.0
        if beta != 1.0:
            x = b.emit("Mul", [x, b.const(np.float32(beta), "softmax_beta")], None, op)[0]
        b.emit(op_type, [x], [b.out(op)], op, axis=-1)
    return read


def l2_normalization(b, op) -> None:
    """``x / sqrt(max(sum(x^2), 1e-6))`` over the last axis, as TFLite's kernel."""
    x = b.inp(op, 0)
    squares = b.emit("ReduceSumSquare", [x, b.int64([-1], "l2_axes")], None, op, keepdims=1)[0]
    floor = b.emit("Max", [squares, b.const(np.float32(1e-6), "l2_eps")], None, op)[0]
    b.emit("Div", [x, b.emit("Sqrt", [floor], None, op)[0]], [fused(b, op, b.out(op))], op)


def add_n(b, op) -> None:
    b.emit("Sum", [b.inp(op, i) for i in range(len(op.inputs))], [b.out(op)], op)


def identity(b, op) -> None:
    """QUANTIZE and DEQUANTIZE: the builder's (de)quantisation of inputs and outputs does the work.

    A DEQUANTIZE of a constant (float16 or int8 weights stored for size) is folded: its output is the
    float32 constant, so the convolution reading it sees a constant filter, as TFLite's does."""
    x = b.inp(op, 0)
    if op.op_name == "DEQUANTIZE" and b.graph.values[x].is_const:
        b.fold(op, np.asarray(b.graph.values[x].const, np.float32))
        return
    if b.graph.values[x].dtype is DType.FLOAT16:
        b.emit("Cast", [x], [b.out(op)], op, to=DType.FLOAT32.value)
    else:
        b.emit("Identity", [x], [b.out(op)], op)


def cast(b, op) -> None:
    dtype = TENSOR_TYPES.get(b.out_tensor(op).type_id)
    if dtype is None:
        raise b.unsupported(op, f"a cast to TensorType {b.out_tensor(op).type_id}")
    b.emit("Cast", [b.inp(op, 0)], [b.out(op)], op, to=dtype.value)


def select(b, op) -> None:
    b.emit("Where", [b.inp(op, 0), b.inp(op, 1), b.inp(op, 2)], [b.out(op)], op)


# ---------------------------------------------------------------- reductions and shape


def _reduce(op_type: str):
    def read(b, op) -> None:
        keep = int(bool(op.options.get("keep_dims")))
        b.emit(op_type, [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op, keepdims=keep)
    return read


def arg_reader(op_type: str, out_dtype: Callable[[Any, Any], DType]):
    """ArgMax/ArgMin over the constant axis input 1, cast to the index type ``out_dtype(b, op)`` (TFLite's
    ARG_MAX/ARG_MIN and TensorFlow's ArgMax/ArgMin: the same operator, the type said differently)."""
    def read(b, op) -> None:
        axis = b.const_value(op, 1)
        if axis is None:
            raise b.unsupported(op, "a computed axis")
        index = b.emit(op_type, [b.inp(op, 0)], None, op, axis=int(np.asarray(axis).reshape(-1)[0]), keepdims=0)[0]
        b.emit("Cast", [index], [b.out(op)], op, to=out_dtype(b, op).value)
    return read


def _arg(op_type: str):
    return arg_reader(op_type, lambda b, op: TENSOR_TYPES.get(b.out_tensor(op).type_id, DType.INT64))


def reshape(b, op) -> None:
    if b.has_input(op, 1) and (b.const_value(op, 1) is None or b.const_value(op, 1).size > 0 or
                               len(b.out_tensor(op).shape) == 0):
        shape = b.int64_input(op, 1)
    elif op.options.get("new_shape") is not None:
        shape = b.int64(op.options["new_shape"], "new_shape")
    else:
        shape = b.int64(b.out_tensor(op).shape, "out_shape")
    b.emit("Reshape", [b.inp(op, 0), shape], [b.out(op)], op)


def squeeze(b, op) -> None:
    dims = op.options.get("squeeze_dims")
    if dims is None or len(dims) == 0:
        dims = [i for i, d in enumerate(b.shape(op, 0)) if d == 1]
    b.emit("Squeeze", [b.inp(op, 0), b.int64(dims, "squeeze_axes")], [b.out(op)], op)


def expand_dims(b, op) -> None:
    b.emit("Unsqueeze", [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op)


def concatenation(b, op) -> None:
    b.emit("Concat", [b.inp(op, i) for i in range(len(op.inputs))], [fused(b, op, b.out(op))], op,
           axis=int(op.options.get("axis", 0)))


def pack(b, op) -> None:
    axis = int(op.options.get("axis", 0))
    axes = b.int64([axis], "pack_axis")
    parts = [b.emit("Unsqueeze", [b.inp(op, i), axes], None, op)[0] for i in range(len(op.inputs))]
    b.emit("Concat", parts, [b.out(op)], op, axis=axis)


def unpack(b, op) -> None:
    unstack(b, op, int(op.options.get("axis", 0)), len(op.outputs))


def unstack(b, op, axis: int, n: int) -> None:
    """Output ``i`` is slice ``i`` of input 0 along ``axis``, without that axis (UNPACK, TensorFlow's Unpack)."""
    parts = b.emit("Split", [b.inp(op, 0), b.int64([1] * n, "unpack_split")],
                   [b.fresh(f"{b.label(op)}_part") for _ in range(n)], op, axis=axis)
    axes = b.int64([axis], "unpack_axis")
    for i, part in enumerate(parts):
        b.emit("Squeeze", [part, axes], [b.out(op, i)], op)


def split(b, op) -> None:
    """SPLIT: (axis, input), equal parts."""
    axis = b.const_value(op, 0)
    if axis is None:
        raise b.unsupported(op, "a computed axis")
    outs = [b.out(op, i) for i in range(len(op.outputs))]
    b.emit("Split", [b.inp(op, 1)], outs, op, axis=int(np.asarray(axis).reshape(-1)[0]), num_outputs=len(outs))


def split_v(b, op) -> None:
    """SPLIT_V: (input, sizes, axis); one size may be -1."""
    sizes, axis = b.const_value(op, 1), b.const_value(op, 2)
    if sizes is None or axis is None:
        raise b.unsupported(op, "computed split sizes or axis")
    axis = int(np.asarray(axis).reshape(-1)[0])
    sizes = [int(s) for s in sizes]
    if -1 in sizes:
        sizes[sizes.index(-1)] = b.shape(op, 0)[axis] - (sum(sizes) + 1)
    outs = [b.out(op, i) for i in range(len(op.outputs))]
    b.emit("Split", [b.inp(op, 0), b.int64(sizes, "split_sizes")], outs, op, axis=axis)


def strided_slice(b, op) -> None:
    o = op.options
    begin, end, strides = (b.const_value(op, i) for i in (1, 2, 3))
    if begin is None or end is None or strides is None:
        raise b.unsupported(op, "computed begin/end/strides")
    if o.get("ellipsis_mask") or o.get("new_axis_mask") or o.get("offset"):
        raise b.unsupported(op, "ellipsis, new-axis or offset masks")
    begin_mask, end_mask, shrink = (int(o.get(k, 0)) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
    starts, ends, steps, axes, squeeze_axes = [], [], [], [], []
    for axis, (s, e, st) in enumerate(zip(begin, end, strides)):
        s, e, st = int(s), int(e), int(st)
        if begin_mask >> axis & 1:
            s = 0 if st > 0 else -1
        if shrink >> axis & 1:
            e = s + 1 if s != -1 else INT64_MAX
            st = 1
            squeeze_axes.append(axis)
        elif end_mask >> axis & 1:
            e = INT64_MAX if st > 0 else -INT64_MAX
        starts.append(s)
        ends.append(e)
        steps.append(st)
        axes.append(axis)
    out = b.out(op)
    sliced = b.emit("Slice", [b.inp(op, 0), b.int64(starts, "ss_starts"), b.int64(ends, "ss_ends"),
                              b.int64(axes, "ss_axes"), b.int64(steps, "ss_steps")],
                    None if squeeze_axes else [out], op)[0]
    if squeeze_axes:
        b.emit("Squeeze", [sliced, b.int64(squeeze_axes, "ss_squeeze")], [out], op)


def slice_(b, op) -> None:
    """``x[begin : begin + size]`` per axis, size -1 meaning to the end; begin and size may be computed
    (a WHILE body slicing at its step)."""
    begin, size = b.const_value(op, 1), b.const_value(op, 2)
    if begin is not None and size is not None:
        ends = [INT64_MAX if int(n) == -1 else int(s) + int(n) for s, n in zip(begin, size)]
        b.emit("Slice", [b.inp(op, 0), b.int64(begin, "slice_starts"), b.int64(ends, "slice_ends")], [b.out(op)], op)
        return
    starts, sizes = b.int64_input(op, 1), b.int64_input(op, 2)
    to_end = b.emit("Equal", [sizes, b.int64(-1, "slice_to_end")], None, op)[0]
    summed = b.emit("Add", [starts, sizes], None, op)[0]
    ends = b.emit("Where", [to_end, b.int64(INT64_MAX, "slice_max"), summed], None, op)[0]
    b.emit("Slice", [b.inp(op, 0), starts, ends], [b.out(op)], op)


def _pad(mode: str):
    def read(b, op) -> None:
        pads = b.const_value(op, 1)
        if pads is None:
            raise b.unsupported(op, "computed paddings")
        if mode == "reflect" and int(op.options.get("mode", 0)) != MIRROR_PAD_MODES["REFLECT"]:
            raise b.unsupported(op, "SYMMETRIC mirror padding")
        pads = np.asarray(pads, np.int64).reshape(-1, 2)
        inputs = [b.inp(op, 0), b.int64(np.concatenate([pads[:, 0], pads[:, 1]]), "pads")]
        if mode == "constant" and b.has_input(op, 2):
            inputs.append(b.inp(op, 2))
        b.emit("Pad", inputs, [b.out(op)], op, mode=mode)
    return read


def transpose(b, op) -> None:
    perm = b.const_value(op, 1)
    if perm is None:
        raise b.unsupported(op, "a computed permutation")
    b.emit("Transpose", [b.inp(op, 0)], [b.out(op)], op, perm=[int(p) for p in perm])


def gather(b, op) -> None:
    if int(op.options.get("batch_dims", 0)):
        raise b.unsupported(op, "batch_dims")
    b.emit("Gather", [b.inp(op, 0), b.inp(op, 1)], [b.out(op)], op, axis=int(op.options.get("axis", 0)))


def gather_nd(b, op) -> None:
    b.emit("GatherND", [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op)


def reverse_v2(b, op) -> None:
    axes = b.const_value(op, 1)
    if axes is None:
        raise b.unsupported(op, "computed axes")
    n = len(axes)
    b.emit("Slice", [b.inp(op, 0), b.int64([-1] * n, "rev_starts"), b.int64([-INT64_MAX] * n, "rev_ends"),
                     b.int64(axes, "rev_axes"), b.int64([-1] * n, "rev_steps")], [b.out(op)], op)


def tile(b, op) -> None:
    b.emit("Tile", [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op)


def broadcast_to(b, op) -> None:
    b.emit("Expand", [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op)


def fill(b, op) -> None:
    b.emit("Expand", [b.inp(op, 1), b.int64_input(op, 0)], [b.out(op)], op)


def shape(b, op) -> None:
    dtype = TENSOR_TYPES.get(b.out_tensor(op).type_id, DType.INT32)
    b.emit("Cast", [b.emit("Shape", [b.inp(op, 0)], None, op)[0]], [b.out(op)], op, to=dtype.value)


def zeros_like(b, op) -> None:
    x = b.inp(op, 0)
    b.emit("Sub", [x, x], [b.out(op)], op)


#: what a read operator still refuses (UnsupportedOperatorError), for the coverage table
LIMITS = {
    "CONV_2D": "constant 4-D filter", "DEPTHWISE_CONV_2D": "constant [1,H,W,C] filter",
    "TRANSPOSE_CONV": "constant output shape and filter", "STRIDED_SLICE": "constant begin/end/strides; "
    "no ellipsis, new-axis or offset masks", "PAD": "constant paddings",
    "PADV2": "constant paddings", "MIRROR_PAD": "REFLECT only", "GATHER": "batch_dims 0",
    "RESIZE_BILINEAR": "constant size", "RESIZE_NEAREST_NEIGHBOR": "constant size", "SPLIT": "constant axis",
    "SPLIT_V": "constant sizes and axis", "ARG_MAX": "constant axis", "ARG_MIN": "constant axis",
    "TRANSPOSE": "constant permutation", "REVERSE_V2": "constant axes",
    "READ_VARIABLE": "first-invocation semantics: state is not carried across runs",
    "ASSIGN_VARIABLE": "first-invocation semantics: state is not carried across runs",
    "CALL_ONCE": "the init subgraph may only assign constants",
}

#: BuiltinOperator name -> reader
READERS = {
    "ADD": _binary("Add"), "SUB": _binary("Sub"), "MUL": _binary("Mul"), "DIV": _binary("Div"),
    "MAXIMUM": _binary("Max"), "MINIMUM": _binary("Min"), "POW": _binary("Pow"),
    "FLOOR_MOD": _binary("Mod"), "FLOOR_DIV": _then("Div", "Floor"),
    "SQUARED_DIFFERENCE": squared_difference, "ADD_N": add_n,
    "EQUAL": _binary("Equal"), "NOT_EQUAL": _then("Equal", "Not"), "LESS": _binary("Less"),
    "LESS_EQUAL": _binary("LessOrEqual"), "GREATER": _binary("Greater"), "GREATER_EQUAL": _binary("GreaterOrEqual"),
    "LOGICAL_AND": _binary("And"), "LOGICAL_OR": _binary("Or"), "LOGICAL_NOT": _unary("Not"),
    "SELECT": select, "SELECT_V2": select,
    "ABS": _unary("Abs"), "EXP": _unary("Exp"), "LOG": _unary("Log"), "SQRT": _unary("Sqrt"), "RSQRT": rsqrt,
    "NEG": _unary("Neg"), "FLOOR": _unary("Floor"), "CEIL": _unary("Ceil"), "ROUND": _unary("Round"),
    "SIN": _unary("Sin"), "COS": _unary("Cos"), "SIGN": _unary("Sign"), "SQUARE": square,
    "LOGISTIC": _unary("Sigmoid"), "TANH": _unary("Tanh"), "RELU": _unary("Relu"), "ELU": _unary("Elu"),
    "RELU6": _clip_op(0.0, 6.0), "RELU_N1_TO_1": _clip_op(-1.0, 1.0), "RELU_0_TO_1": _clip_op(0.0, 1.0),
    "HARD_SWISH": _unary("HardSwish"), "LEAKY_RELU": leaky_relu, "GELU": gelu, "PRELU": prelu,
    "SOFTMAX": _softmax("Softmax"), "LOG_SOFTMAX": _softmax("LogSoftmax"), "L2_NORMALIZATION": l2_normalization,
    "CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d, "TRANSPOSE_CONV": transpose_conv,
    "AVERAGE_POOL_2D": _pool("AveragePool"), "MAX_POOL_2D": _pool("MaxPool"),
    "LOCAL_RESPONSE_NORMALIZATION": local_response_normalization,
    "SPACE_TO_DEPTH": _depth_space("SpaceToDepth"), "DEPTH_TO_SPACE": _depth_space("DepthToSpace"),
    "RESIZE_BILINEAR": _resize("linear"), "RESIZE_NEAREST_NEIGHBOR": _resize("nearest"),
    "FULLY_CONNECTED": fully_connected, "BATCH_MATMUL": batch_matmul,
    "MEAN": _reduce("ReduceMean"), "SUM": _reduce("ReduceSum"), "REDUCE_MAX": _reduce("ReduceMax"),
    "REDUCE_MIN": _reduce("ReduceMin"), "REDUCE_PROD": _reduce("ReduceProd"),
    "ARG_MAX": _arg("ArgMax"), "ARG_MIN": _arg("ArgMin"),
    "RESHAPE": reshape, "SQUEEZE": squeeze, "EXPAND_DIMS": expand_dims, "CONCATENATION": concatenation,
    "PACK": pack, "UNPACK": unpack, "SPLIT": split, "SPLIT_V": split_v, "STRIDED_SLICE": strided_slice,
    "SLICE": slice_, "PAD": _pad("constant"), "PADV2": _pad("constant"), "MIRROR_PAD": _pad("reflect"),
    "TRANSPOSE": transpose, "REVERSE_V2": reverse_v2, "GATHER": gather, "GATHER_ND": gather_nd, "TILE": tile, "BROADCAST_TO": broadcast_to,
    "FILL": fill, "SHAPE": shape, "ZEROS_LIKE": zeros_like, "CAST": cast,
    "QUANTIZE": identity, "DEQUANTIZE": identity,
}
