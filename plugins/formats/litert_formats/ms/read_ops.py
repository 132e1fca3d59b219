"""MindSpore Lite primitives -> IR operators (ONNX semantics), one function per primitive.

Each function receives the :class:`~.reader.GraphBuilder` and the
:class:`~.msfile.MsNode` and emits IR nodes through the builder.  ``.ms``
tensors keep the layout MindSpore Lite stores them in: operators with a
``format`` attribute (convolution, pooling) and LRN, which MindSpore Lite
runs channels-last, are wrapped in Transposes (:func:`..transposes.wrap`),
every other operator reads its tensors as stored, as MindSpore Lite does.
Fused activations (``activation_type``) become a separate activation node.

:data:`READERS` is the registry; a primitive absent from it is reported as
unsupported, naming the node.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from litert.errors import UnsupportedOperatorError

from .. import transposes
from ..mindspore import enum_name
from ..transposes import NHWC_TO_NCHW, swap_pads
from .integer_read import dynamic_quant, quant_dtype_cast
from .ops import BY_PRIMITIVE, Attr, Op
from .types import (
    ONNX_ACTIVATIONS,
    ONNX_PAD_MODES,
    ONNX_REDUCTIONS,
    ONNX_RESIZE,
    TYPE_IDS,
    ActivationType,
    EltwiseMode,
    Format,
    PaddingMode,
    PadMode,
    ReduceMode,
    RoundMode,
)

# ---------------------------------------------------------------- activations


def _clip(lo, hi):
    def emit(b, x, out, node, attrs):
        b.emit("Clip", [x, b.const(np.float32(lo), "clip_min"), b.const(np.float32(hi), "clip_max")], [out], node)
    return emit


def _simple(op, **fixed):
    def emit(b, x, out, node, attrs):
        b.emit(op, [x], [out], node, **fixed)
    return emit


def _with_alpha(op):
    def emit(b, x, out, node, attrs):
        b.emit(op, [x], [out], node, alpha=float(attrs.get("alpha", 0.0)))
    return emit


def _hard_tanh(b, x, out, node, attrs):
    lo, hi = float(attrs.get("min_val", -1.0)), float(attrs.get("max_val", 1.0))
    _clip(lo, hi)(b, x, out, node, attrs)


def _swish(b, x, out, node, attrs):
    b.emit("Mul", [x, b.emit("Sigmoid", [x], None, node)[0]], [out], node)


def _gelu(b, x, out, node, attrs):
    b.emit("Gelu", [x], [out], node, approximate="tanh" if attrs.get("approximate") else "none")


def _relu_max(b, x, out, node, attrs):
    """RELU stored with a finite ``max_val`` (MindSpore's ReLU6 as Activation)."""
    hi = float(attrs.get("max_val", 0.0))
    if attrs.get("min_val", 0.0) == 0.0 and 0.0 < hi < 3.0e38:
        _clip(0.0, hi)(b, x, out, node, attrs)
    else:
        b.emit("Relu", [x], [out], node)


#: ActivationType -> emitter(builder, input, output, node, activation attrs)
ACTIVATIONS: dict[int, Callable] = {
    **{act: _simple(op) if alpha is None else _with_alpha(op) for act, (op, alpha) in ONNX_ACTIVATIONS.items()},
    ActivationType.RELU: _relu_max,
    ActivationType.RELU6: _clip(0.0, 6.0),
    ActivationType.ABS: _simple("Abs"),
    ActivationType.SELU: _simple("Selu"),
    ActivationType.HSIGMOID: _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    ActivationType.HARD_TANH: _hard_tanh,
    ActivationType.SIGN: _simple("Sign"),
    ActivationType.SWISH: _swish,
    ActivationType.GELU: _gelu,
    ActivationType.LINEAR: _simple("Identity"),
}


def activation(b, node, act: int, x: str, out: str, attrs: dict | None = None) -> None:
    if act not in ACTIVATIONS:
        raise b.unsupported(node, f"activation_type {act}")
    ACTIVATIONS[act](b, x, out, node, attrs or {})


def with_activation(b, node, act: int) -> str:
    """Where the op itself writes: its output, or a fresh name the activation then reads."""
    out = b.out(node, 0)
    if act == ActivationType.NO_ACTIVATION:
        return out
    inner = b.fresh(f"{out}_preact")
    b.after.append(lambda: activation(b, node, act, inner, out))
    return inner


# ---------------------------------------------------------------- convolution and pooling


def _window_attrs(attrs: dict, kernel_key: str, stride_key: str, pad_key: str) -> dict:
    out: dict = {"kernel_shape": [int(k) for k in attrs[kernel_key]]} if attrs.get(kernel_key) is not None else {}
    if attrs.get(stride_key) is not None:
        out["strides"] = [int(s) for s in attrs[stride_key]]
    mode = attrs.get("pad_mode", PadMode.PAD)
    if mode == PadMode.SAME:
        out["auto_pad"] = "SAME_UPPER"
    elif mode == PadMode.VALID:
        out["auto_pad"] = "VALID"
    else:
        out["pads"] = swap_pads(attrs.get(pad_key))
    return out


def _conv_attrs(a: dict) -> tuple[bool, dict]:
    """Whether a (transposed) convolution's data is NHWC, and its window, dilation and group as ONNX attributes."""
    attrs = _window_attrs(a, "kernel_size", "stride", "pad_list")
    if a.get("dilation") is not None:
        attrs["dilations"] = [int(d) for d in a["dilation"]]
    attrs["group"] = int(a.get("group") or 1)
    return a.get("format", Format.NCHW) == Format.NHWC, attrs


def conv2d(b, node) -> None:
    a = node.attrs
    nhwc, attrs = _conv_attrs(a)
    weight = b.inp(node, 1)
    data = b.const_value(node, 1)
    if data is not None and data.ndim != 4:
        raise b.unsupported(node, f"a {data.ndim}-D convolution weight")
    if nhwc:  # weights are O,H,W,I: the IR's Conv wants O,I,H,W
        weight = b.permuted(weight, NHWC_TO_NCHW)
    inputs = [b.inp(node, 0), weight] + ([b.inp(node, 2)] if b.has_input(node, 2) else [])
    out = with_activation(b, node, a.get("activation_type", 0))
    conv = b.node("Conv", inputs, [out], node, **attrs)
    b.place(conv, nhwc, data_inputs=[0])


def _pool(op_global: str, op: str, extra: dict):
    def read(b, node) -> None:
        a = node.attrs
        nhwc = a.get("format", Format.NCHW) == Format.NHWC
        out = with_activation(b, node, a.get("activation_type", 0))
        if a.get("global"):
            pool = b.node(op_global, [b.inp(node, 0)], [out], node)
        else:
            attrs = _window_attrs(a, "kernel_size", "strides", "pad")
            attrs["ceil_mode"] = int(a.get("round_mode", 0) == RoundMode.CEIL)
            pool = b.node(op, [b.inp(node, 0)], [out], node, **attrs, **extra)
        b.place(pool, nhwc, data_inputs=[0])
    return read


def lrn(b, node) -> None:
    """MindSpore Lite's LRN normalises over the last axis with alpha already divided by the window."""
    a = node.attrs
    radius = int(a.get("depth_radius", 5))
    size = 2 * radius + 1
    x = b.inp(node, 0)
    lrn_node = b.node("LRN", [x], [b.out(node, 0)], node, size=size,
                      alpha=float(a.get("alpha", 1.0)) * size, beta=float(a.get("beta", 0.5)),
                      bias=float(a.get("bias", 1.0)))
    try:
        rank = b.rank(x, node)
    except UnsupportedOperatorError:
        rank = 4  # MindSpore Lite's LRN kernel takes 4-D NHWC input only
    if rank == 4:
        b.place(lrn_node, True, data_inputs=[0])
        return
    to_channels = [0, rank - 1] + list(range(1, rank - 1))  # ONNX's LRN runs over axis 1
    b.graph.nodes.extend(transposes.wrap(b.graph, lrn_node, [0], to_channels, transposes.inverse(to_channels)))


def scale(b, node) -> None:
    """``x * scale + bias`` with ``scale`` laid along ``axis`` onwards."""
    a = node.attrs
    x = b.inp(node, 0)
    axis = int(a.get("axis", -1))
    out = with_activation(b, node, a.get("activation_type", 0))
    factors = [b.inp(node, i) for i in (1, 2) if b.has_input(node, i)]
    ndim = b.graph.values[factors[0]].const.ndim if b.graph.values[factors[0]].is_const else None
    if axis < 0 and ndim is not None and axis + ndim == 0:
        shaped = factors  # the trailing axes: numpy broadcasting lines them up
    else:
        rank = b.rank(x, node)
        shaped = [b.broadcast_from(f, axis + rank if axis < 0 else axis, rank) for f in factors]
    if len(shaped) == 2:
        b.emit("Add", [b.emit("Mul", [x, shaped[0]], None, node)[0], shaped[1]], [out], node)
    else:
        b.emit("Mul", [x, shaped[0]], [out], node)


# ---------------------------------------------------------------- matrix products


def matmul(b, node) -> None:
    a = node.attrs
    x, w = b.inp(node, 0), b.inp(node, 1)
    if a.get("transpose_a"):
        x = b.swap_last(x, node)
    if a.get("transpose_b"):
        w = b.swap_last(w, node)
    out = with_activation(b, node, a.get("activation_type", 0))
    if b.has_input(node, 2):
        b.emit("Add", [b.emit("MatMul", [x, w], None, node)[0], b.inp(node, 2)], [out], node)
    else:
        b.emit("MatMul", [x, w], [out], node)


def full_connection(b, node) -> None:
    """``y = x' W^T + b`` with ``x'`` = ``x`` flattened at ``axis`` (``use_axis``) or to rows of W's depth."""
    a = node.attrs
    x, w = b.inp(node, 0), b.inp(node, 1)
    if a.get("use_axis"):
        rank = b.rank(x, node)
        axis = int(a.get("axis", 1))
        axis = axis + rank if axis < 0 else axis
        if axis != rank - 1:
            raise b.unsupported(node, f"FullConnection over axis {axis} of a rank-{rank} input")
        flat = x
    else:
        weight = b.const_value(node, 1)
        if weight is None:
            raise b.unsupported(node, "FullConnection with a computed weight")
        flat = b.emit("Reshape", [x, b.int64([-1, weight.shape[1]], "fc_shape")], None, node)[0]
    out = with_activation(b, node, a.get("activation_type", 0))
    product = b.emit("MatMul", [flat, b.swap_last(w, node)], None if b.has_input(node, 2) else [out], node)[0]
    if b.has_input(node, 2):
        b.emit("Add", [product, b.inp(node, 2)], [out], node)


# ---------------------------------------------------------------- elementwise


def eltwise(b, node) -> None:
    """PROD / SUM / MAXIMUM over any number of inputs (Max is variadic in ONNX; Mul and Add are chained)."""
    mode = node.attrs.get("mode", EltwiseMode.SUM)
    op = {EltwiseMode.PROD: "Mul", EltwiseMode.SUM: "Add", EltwiseMode.MAXIMUM: "Max"}.get(mode)
    if op is None:
        raise b.unsupported(node, f"Eltwise mode {mode}")
    inputs = [b.inp(node, i) for i in range(len(node.inputs))]
    if op == "Max" or len(inputs) <= 2:
        b.emit(op, inputs, [b.out(node, 0)], node)
        return
    acc = inputs[0]
    for i, name in enumerate(inputs[1:]):
        last = i == len(inputs) - 2
        acc = b.emit(op, [acc, name], [b.out(node, 0)] if last else None, node)[0]


def squared_difference(b, node) -> None:
    diff = b.emit("Sub", [b.inp(node, 0), b.inp(node, 1)], None, node)[0]
    b.emit("Mul", [diff, diff], [b.out(node, 0)], node)


def act_node(b, node) -> None:
    activation(b, node, node.attrs.get("activation_type", 0), b.inp(node, 0), b.out(node, 0), node.attrs)


def square(b, node) -> None:
    x = b.inp(node, 0)
    b.emit("Mul", [x, x], [b.out(node, 0)], node)


def rsqrt(b, node) -> None:
    b.emit("Reciprocal", [b.emit("Sqrt", [b.inp(node, 0)], None, node)[0]], [b.out(node, 0)], node)


def _affine_input(b, node, x: str, scale_: float, shift: float) -> str:
    if scale_ != 1.0:
        x = b.emit("Mul", [x, b.const(np.float32(scale_), "scale")], None, node)[0]
    if shift != 0.0:
        x = b.emit("Add", [x, b.const(np.float32(shift), "shift")], None, node)[0]
    return x


def pow_fusion(b, node) -> None:
    """``(scale * x + shift) ^ y``."""
    a = node.attrs
    x = _affine_input(b, node, b.inp(node, 0), float(a.get("scale", 1.0)), float(a.get("shift", 0.0)))
    if b.has_input(node, 1):
        y = b.inp(node, 1)
    else:
        raise b.unsupported(node, "PowFusion without an exponent input")
    b.emit("Pow", [x, y], [b.out(node, 0)], node)


def exp_fusion(b, node) -> None:
    """``base ^ (scale * x + shift)``; base -1 means e."""
    a = node.attrs
    x = _affine_input(b, node, b.inp(node, 0), float(a.get("scale", 1.0)), float(a.get("shift", 0.0)))
    base = float(a.get("base", -1.0))
    if base != -1.0:
        if base <= 0:
            raise b.unsupported(node, f"ExpFusion base {base}")
        x = b.emit("Mul", [x, b.const(np.float32(np.log(base)), "log_base")], None, node)[0]
    b.emit("Exp", [x], [b.out(node, 0)], node)


def prelu(b, node) -> None:
    """One slope, or one per channel of the last axis whatever the slope's stored shape (converter_lite keeps
    ONNX's [C, 1, 1] for NHWC data)."""
    slope = b.const_value(node, 1)
    name = b.inp(node, 1)
    if slope is not None and slope.size > 1 and slope.ndim != 1:
        name = b.const(slope.reshape(-1), f"{name}_per_channel")
    b.emit("PRelu", [b.inp(node, 0), name], [b.out(node, 0)], node)


# ---------------------------------------------------------------- normalisation and reductions


def reduce(b, node) -> None:
    a = node.attrs
    mode = int(a.get("mode", 0))
    op = ONNX_REDUCTIONS.get(mode)
    if op is None:
        raise b.unsupported(node, f"ReduceFusion mode {enum_name(ReduceMode, mode)}")
    x = b.inp(node, 0)
    axes = b.const_value(node, 1) if b.has_input(node, 1) else None
    if b.has_input(node, 1) and axes is None:
        raise b.unsupported(node, "ReduceFusion with computed axes")
    axes = [] if axes is None else [int(v) for v in np.ravel(axes)]
    if a.get("reduce_to_end") and axes:
        rank = b.rank(x, node)
        start = axes[0] + rank if axes[0] < 0 else axes[0]
        axes = list(range(start, rank))
    # converter_lite writes coeff 0 on plain reductions: MindSpore Lite scales by it only with reduce_to_end
    coeff = float(a.get("coeff", 1.0)) if a.get("reduce_to_end") else 1.0
    out = b.out(node, 0)
    inner = out if coeff == 1.0 else b.fresh(f"{out}_unscaled")
    inputs = [x, b.int64(axes, "axes")] if axes else [x]
    b.emit(op, inputs, [inner], node, keepdims=int(bool(a.get("keep_dims", False))),
           noop_with_empty_axes=0)
    if coeff != 1.0:
        b.emit("Mul", [inner, b.const(np.float32(coeff), "coeff")], [out], node)


# ---------------------------------------------------------------- shapes and data movement


def transpose(b, node) -> None:
    perm = b.const_value(node, 1)
    if perm is None:
        raise b.unsupported(node, "Transpose with a computed perm")
    perm = [int(p) for p in np.ravel(perm)]
    if sorted(perm) != list(range(len(perm))):
        raise b.unsupported(node, f"perm {perm}, which is not a permutation")
    b.emit("Transpose", [b.inp(node, 0)], [b.out(node, 0)], node, perm=perm)


def _axes_op(op: str):
    def read(b, node) -> None:
        axes = node.attrs.get("axis")
        if axes is None and b.has_input(node, 1):
            axes = b.const_value(node, 1)
            if axes is None:
                raise b.unsupported(node, f"{node.primitive} with computed axes")
        inputs = [b.inp(node, 0)]
        if axes is not None and len(np.ravel(axes)):
            inputs.append(b.int64([int(v) for v in np.ravel(axes)], "axes"))
        b.emit(op, inputs, [b.out(node, 0)], node)
    return read


def cast(b, node) -> None:
    to = b.const_value(node, 1) if b.has_input(node, 1) else None
    dtype = TYPE_IDS.get(int(np.ravel(to)[0])) if to is not None else b.ms_dtype(node.outputs[0])
    if dtype is None:
        raise b.unsupported(node, "Cast to an unknown type")
    b.emit("Cast", [b.inp(node, 0)], [b.out(node, 0)], node, to=dtype.value)


def strided_slice(b, node) -> None:
    """Inputs (x, begin, end, strides) over the leading axes, or (x, begin, end, axes, strides) as
    converter_lite writes an ONNX Slice (nnacl's StridedSliceInferShape tells them apart by count)."""
    a = node.attrs
    if any(int(a.get(k, 0) or 0) for k in ("ellipsis_mask", "new_axis_mask")):
        raise b.unsupported(node, "StridedSlice with ellipsis or new-axis masks")
    begin, end = b.const_value(node, 1), b.const_value(node, 2)
    with_axes = len(node.inputs) == 5
    axes = b.const_value(node, 3) if with_axes else None
    strides = b.const_value(node, 4 if with_axes else 3) if len(node.inputs) > 3 else None
    if begin is None or end is None or (len(node.inputs) > 3 and strides is None) or (with_axes and axes is None):
        raise b.unsupported(node, "StridedSlice with computed bounds")
    begin, end = [int(v) for v in np.ravel(begin)], [int(v) for v in np.ravel(end)]
    steps = [int(v) for v in np.ravel(strides)] if strides is not None else [1] * len(begin)
    axes = [int(v) for v in np.ravel(axes)] if axes is not None else list(range(len(begin)))
    big = np.iinfo(np.int64).max
    begin_mask, end_mask, shrink = (int(a.get(k, 0) or 0) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
    for i in range(len(begin)):
        if begin_mask >> i & 1:
            begin[i] = 0 if steps[i] > 0 else big
        if end_mask >> i & 1:
            end[i] = big if steps[i] > 0 else -big
        if shrink >> i & 1:
            end[i] = begin[i] + 1 if begin[i] != -1 else big
    out = b.out(node, 0)
    sliced = out if not shrink else b.fresh(f"{out}_unshrunk")
    b.emit("Slice", [b.inp(node, 0), b.int64(begin, "starts"), b.int64(end, "ends"), b.int64(axes, "axes"),
                     b.int64(steps, "steps")], [sliced], node)
    if shrink:
        squeezed = [axes[i] for i in range(len(begin)) if shrink >> i & 1]
        b.emit("Squeeze", [sliced, b.int64(squeezed, "axes")], [out], node)


def slice_fusion(b, node) -> None:
    begin, size = b.const_value(node, 1), b.const_value(node, 2)
    if begin is None or size is None:
        raise b.unsupported(node, "SliceFusion with computed bounds")
    begin, size = [int(v) for v in np.ravel(begin)], [int(v) for v in np.ravel(size)]
    axes = node.attrs.get("axes")
    axes = [int(v) for v in axes] if axes is not None and len(axes) else list(range(len(begin)))
    big = np.iinfo(np.int64).max
    end = [big if s < 0 else bg + s for bg, s in zip(begin, size)]
    b.emit("Slice", [b.inp(node, 0), b.int64(begin, "starts"), b.int64(end, "ends"), b.int64(axes, "axes")],
           [b.out(node, 0)], node)


def broadcast_to(b, node) -> None:
    dims = node.attrs.get("shape")
    if b.has_input(node, 1):
        target = b.int64_input(node, 1)
    elif dims is not None:
        target = b.int64([int(d) for d in dims], "shape")
    else:
        raise b.unsupported(node, "BroadcastTo without a shape")
    b.emit("Expand", [b.inp(node, 0), target], [b.out(node, 0)], node)


def pad(b, node) -> None:
    a = node.attrs
    paddings = b.const_value(node, 1)
    if paddings is None:
        raise b.unsupported(node, "PadFusion with computed paddings")
    paddings = np.asarray(paddings, np.int64).reshape(-1, 2)
    mode = {**ONNX_PAD_MODES, PaddingMode.SYMMETRIC: "edge"}.get(int(a.get("padding_mode", 0)))
    if mode is None:
        raise b.unsupported(node, f"PadFusion mode {a.get('padding_mode')}")
    pads = np.concatenate([paddings[:, 0], paddings[:, 1]])
    inputs = [b.inp(node, 0), b.const(pads, "pads")]
    if mode == "constant":
        value = b.const_value(node, 2) if b.has_input(node, 2) else None  # converter_lite keeps ONNX's value input
        if b.has_input(node, 2) and value is None:
            raise b.unsupported(node, "PadFusion with a computed pad value")
        value = float(np.ravel(value)[0]) if value is not None else float(a.get("constant_value", 0.0))
        dtype = b.ms_dtype(node.inputs[0])
        inputs.append(b.const(np.array(value, dtype.numpy if dtype else np.float32), "pad_value"))
    b.emit("Pad", inputs, [b.out(node, 0)], node, mode=mode)


def split(b, node) -> None:
    """Sizes from ``size_splits`` or, as converter_lite writes an ONNX Split, from input 1."""
    a = node.attrs
    sizes = a.get("size_splits")
    if (sizes is None or not len(sizes)) and b.has_input(node, 1):
        sizes = b.const_value(node, 1)
        if sizes is None:
            raise b.unsupported(node, "Split with computed sizes")
    inputs = [b.inp(node, 0)]
    if sizes is not None and len(np.ravel(sizes)):
        inputs.append(b.int64([int(s) for s in np.ravel(sizes)], "split"))
    outs = [b.out(node, i) for i in range(len(node.outputs))]
    extra = {} if len(inputs) > 1 else {"num_outputs": len(outs)}
    b.emit("Split", inputs, outs, node, axis=int(a.get("axis", 0)), **extra)


def argmax(b, node, op="ArgMax") -> None:
    a = node.attrs
    if a.get("out_max_value") or int(a.get("top_k", 1) or 1) != 1:
        raise b.unsupported(node, f"{node.primitive} with out_max_value or top_k > 1")
    int_outputs(b, node, op, [b.inp(node, 0)], [0], axis=int(a.get("axis", 0)), keepdims=int(bool(a.get("keep_dims"))))


# ---------------------------------------------------------------- recurrent


def lstm(b, node) -> None:
    """converter_lite keeps ONNX's LSTM inputs (X, W, R, B, initial_h, initial_c) and gate order."""
    a = node.attrs
    n = len(node.inputs)
    if n not in (4, 6):
        raise b.unsupported(node, f"LSTM with {n} inputs (X, W, R, B[, h0, c0] expected)")
    w = b.const_value(node, 1)
    if w is None or w.ndim != 3:
        raise b.unsupported(node, "LSTM whose W is not a constant [directions, 4*hidden, input]")
    inputs = [b.inp(node, i) for i in range(4)]
    if n == 6:
        inputs += ["", b.inp(node, 4), b.inp(node, 5)]
    outs = [b.out(node, i) for i in range(len(node.outputs))]
    hidden = int(a.get("hidden_size") or w.shape[1] // 4)
    direction = "bidirectional" if a.get("bidirectional") else "forward"
    b.emit("LSTM", inputs, outs, node, hidden_size=hidden, direction=direction)


def where(b, node) -> None:
    """Three inputs: ``cond ? x : y`` (BERT-style masks); one input: the indices of the non-zero elements, [N, rank]
    (converter_lite writes ONNX's NonZero as this Where and a Transpose)."""
    if len(node.inputs) == 1:  # MindSpore Lite's is [N, rank], ONNX's NonZero [rank, N]
        out = b.out(node, 0)
        want = b.ms_dtype(node.outputs[0])
        indices = b.emit("NonZero", [b.inp(node, 0)], None, node)[0]
        if want is not None and want.name != "INT64":
            indices = b.emit("Cast", [indices], None, node, to=want.value)[0]
        b.emit("Transpose", [indices], [out], node, perm=[1, 0])
        return
    if len(node.inputs) != 3:
        raise b.unsupported(node, f"Where with {len(node.inputs)} input(s)")
    b.emit("Where", [b.inp(node, 0), b.inp(node, 1), b.inp(node, 2)], [b.out(node, 0)], node)


# ---------------------------------------------------------------- added for converter_lite's ONNX coverage


def conv_transpose(b, node) -> None:
    """Conv2dTransposeFusion: weights [C_in, kH, kW, C_out/group] (ONNX's [C_in, C_out/group, kH, kW] made
    channels-last), data NHWC when ``format`` says so."""
    a = node.attrs
    nhwc, attrs = _conv_attrs(a)
    if a.get("output_paddings") is not None and any(int(p) for p in a["output_paddings"]):
        attrs["output_padding"] = [int(p) for p in a["output_paddings"]]
    data = b.const_value(node, 1)
    if data is None or data.ndim != 4:
        raise b.unsupported(node, "a deconvolution weight that is not a constant 4-D tensor")
    weight = b.permuted(b.inp(node, 1), (0, 3, 1, 2)) if nhwc else b.inp(node, 1)
    inputs = [b.inp(node, 0), weight] + ([b.inp(node, 2)] if b.has_input(node, 2) else [])
    out = with_activation(b, node, a.get("activation_type", 0))
    b.place(b.node("ConvTranspose", inputs, [out], node, **attrs), nhwc, data_inputs=[0])


def resize(b, node) -> None:
    """Resize of the two spatial axes by float scales or integer sizes (input 1), or to ``new_height`` x
    ``new_width``."""
    a = node.attrs
    nhwc = a.get("format", Format.NCHW) == Format.NHWC
    method = ONNX_RESIZE["method"][1].get(int(a["method"]))
    if method is None:
        raise b.unsupported(node, f"Resize method {a.get('method')}")
    attrs: dict = {"mode": method, "coordinate_transformation_mode": ONNX_RESIZE["coordinate_transform_mode"][1].get(
        int(a.get("coordinate_transform_mode", 0)), "asymmetric")}
    if method == "nearest":
        attrs["nearest_mode"] = ONNX_RESIZE["nearest_mode"][1].get(int(a.get("nearest_mode", 0)), "round_prefer_floor")
    if method == "cubic":
        attrs.update(cubic_coeff_a=float(a.get("cubic_coeff", -0.75)), exclude_outside=int(a.get("exclude_outside", 0)))
    x = b.inp(node, 0)
    size = b.const_value(node, 1) if b.has_input(node, 1) else None
    if b.has_input(node, 1) and size is None:
        raise b.unsupported(node, "Resize with computed scales or sizes")
    if size is None:
        size = np.array([int(a.get("new_height", 0)), int(a.get("new_width", 0))], np.int64)
    size = np.ravel(size)
    if size.size not in (2, 4):
        raise b.unsupported(node, f"Resize with {size.size} scales or sizes")
    if size.size == 4:  # all four axes in the data's own layout
        size = size[1:3] if nhwc else size[2:4]
    inputs = [x, ""]
    if size.dtype.kind == "f":
        inputs.append(b.const(np.array([1.0, 1.0, *size], np.float32), "scales"))
    else:
        shape = b.graph.values[x].shape
        if shape is None:
            b.rank(x, node)
            shape = b.graph.values[x].shape
        n, c = (shape[0], shape[3]) if nhwc else (shape[0], shape[1])
        if not isinstance(n, int) or not isinstance(c, int):
            raise b.unsupported(node, "Resize to sizes of a dynamic batch or channel count")
        inputs += ["", b.int64([n, c, *size], "sizes")]
    b.place(b.node("Resize", inputs, [b.out(node, 0)], node, **attrs), nhwc, data_inputs=[0])


def int_outputs(b, node, op: str, inputs: list[str], positions: list[int], **attrs) -> None:
    """``op`` whose outputs at ``positions`` are int64 in the IR and stored int32 in the .ms: cast back."""
    outs = []
    casts = []
    for i in range(len(node.outputs)):
        want = b.ms_dtype(node.outputs[i])
        if i in positions and want is not None and want.name != "INT64":
            inner = b.fresh(f"{b.out(node, i)}_i64")
            casts.append((inner, b.out(node, i), want))
            outs.append(inner)
        else:
            outs.append(b.out(node, i))
    b.emit(op, inputs, outs, node, **attrs)
    for inner, out, want in casts:
        b.emit("Cast", [inner], [out], node, to=want.value)


def top_k(b, node) -> None:
    """TopKFusion: the k largest (MindSpore Lite 2.0 ignores ``largest``; converter_lite writes 0)."""
    a = node.attrs
    k = b.int64_input(node, 1)
    k = b.emit("Reshape", [k, b.int64([1], "k_shape")], None, node)[0]
    int_outputs(b, node, "TopK", [b.inp(node, 0), k], [1], axis=int(a.get("axis", -1)), largest=1,
                 sorted=int(bool(a.get("sorted", True))))


def constant_of_shape(b, node) -> None:
    a = node.attrs
    dtype = TYPE_IDS.get(int(a.get("data_type", 43))) or b.ms_dtype(node.outputs[0])
    values = a.get("value")
    value = float(values[0]) if values is not None and len(values) else 0.0
    b.emit("ConstantOfShape", [b.int64_input(node, 0)], [b.out(node, 0)], node,
           value=np.array([value], dtype.numpy if dtype is not None else np.float32))


def range_(b, node) -> None:
    """Range(start, limit, delta) from three scalar inputs, or from the attributes."""
    a = node.attrs
    if len(node.inputs) >= 3:  # converter_lite keeps ONNX's scalars, or writes them as [1]: either is read as one
        inputs = [b.inp(node, i) for i in range(3)]
    else:
        inputs = [b.const(np.array(int(a.get(k, d)), np.int32), k) for k, d in (("start", 0), ("limit", 0), ("delta", 1))]
    b.emit("Range", inputs, [b.out(node, 0)], node)


def one_hot(b, node) -> None:
    """OneHot (indices, depth, values [off, on]) as converter_lite writes ONNX's, or (indices, depth, on, off)."""
    depth = b.int64_input(node, 1)
    if len(node.inputs) == 4:
        values = b.emit("Concat", [b.inp(node, 3), b.inp(node, 2)], None, node, axis=0)[0]
    else:
        values = b.inp(node, 2)
    b.emit("OneHot", [b.inp(node, 0), depth, values], [b.out(node, 0)], node, axis=int(node.attrs.get("axis", -1)))


def _held_attr(b, node, f: Attr):
    """An attribute the primitive holds as a constant input (:attr:`.ops.Attr.input`)."""
    assert f.input is not None
    data = b.const_value(node, f.input) if b.has_input(node, f.input) else np.array(f.default)
    if data is None:
        raise b.unsupported(node, f"{node.primitive} with a computed {f.field}")
    return f.to_onnx(np.ravel(data)[0])


def read_row(b, node, op: Op) -> None:
    """A primitive of :data:`.ops.TABLE` as its ONNX op."""
    a = node.attrs
    count = len(node.inputs) if op.inputs is None else op.inputs
    if op.optional:
        count = max(count - op.optional, min(count, len(node.inputs)))
    held = {f.input for f in op.attrs if f.input is not None}
    positions = [i for i in range(count + len(held)) if i not in held]
    inputs = [b.int64_input(node, i) if i in op.int64 else b.inp(node, i) for i in positions]
    attrs = {**{f.onnx: f.to_onnx(a[f.field]) if f.input is None else _held_attr(b, node, f) for f in op.attrs
                if f.onnx}, **op.onnx_fixed}
    if op.channels_last:
        placed = b.node(op.onnx, inputs, [b.out(node, 0)], node, **attrs)
        b.place(placed, a["format"] == Format.NHWC, data_inputs=[0])
    elif op.int_outputs:
        int_outputs(b, node, op.onnx, inputs, list(op.int_outputs), **attrs)
    else:
        outs = [with_activation(b, node, a["activation_type"])] if op.fused else \
            [b.out(node, i) for i in range(op.outputs)]
        b.emit(op.onnx, inputs, outs, node, **attrs)


# ---------------------------------------------------------------- registry


READERS: dict[str, Callable] = {
    **{primitive: functools.partial(read_row, op=op) for primitive, op in BY_PRIMITIVE.items()},
    "Conv2DFusion": conv2d,
    "MaxPoolFusion": _pool("GlobalMaxPool", "MaxPool", {}),
    "AvgPoolFusion": _pool("GlobalAveragePool", "AveragePool", {"count_include_pad": 0}),
    "LRN": lrn,
    "ScaleFusion": scale,
    "MatMulFusion": matmul,
    "FullConnection": full_connection,
    "SquaredDifference": squared_difference,
    "Eltwise": eltwise,
    "Activation": act_node,
    "Rsqrt": rsqrt,
    "Square": square,
    "ExpFusion": exp_fusion,
    "PowFusion": pow_fusion,
    "PReLUFusion": prelu,
    "ReduceFusion": reduce,
    "Transpose": transpose,
    "Squeeze": _axes_op("Squeeze"),
    "Unsqueeze": _axes_op("Unsqueeze"),
    "ExpandDims": _axes_op("Unsqueeze"),
    "Cast": cast,
    "StridedSlice": strided_slice,
    "SliceFusion": slice_fusion,
    "BroadcastTo": broadcast_to,
    "PadFusion": pad,
    "Split": split,
    "ArgMaxFusion": argmax,
    "ArgMinFusion": lambda b, node: argmax(b, node, "ArgMin"),
    "LSTM": lstm,
    "Where": where,
    "Select": where,
    "Conv2dTransposeFusion": conv_transpose,
    "Resize": resize,
    "TopKFusion": top_k,
    "ConstantOfShape": constant_of_shape,
    "Range": range_,
    "OneHot": one_hot,
    "QuantDTypeCast": quant_dtype_cast,
    "DynamicQuant": dynamic_quant,
}


def read_node(b, node) -> None:
    if node.primitive is None:
        raise UnsupportedOperatorError(
            f"{b.path.name}: node {node.name!r}: primitive type #{node.tag} is not in the .ms schema litert knows",
            node=node.name, op_type=f"PrimitiveType#{node.tag}", domain="mindspore.lite")
    reader = READERS.get(node.primitive)
    if reader is None:
        raise b.unsupported(node, "this primitive")
    reader(b, node)

