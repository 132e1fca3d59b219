"""IR operators (ONNX semantics) -> MindSpore Lite primitives, one function per operator.

Each function receives the writer's :class:`~.writer.Lowering` context and
the IR node, and emits primitives with ``ctx.emit(primitive, attrs, inputs,
outputs)``; attribute dicts use the schema's field names (see ``ms.fbs``)
and mirror what converter_lite 2.0.0 writes for the same ONNX operator.
Channels-last operators arrive in the :data:`.nhwc.NHWC_DOMAIN` domain.
:data:`WRITERS` is the registry, keyed by ``(domain, op_type)``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from litert.schema.inference.nn import same_pads

from ..registry import by_domain
from ..transposes import swap_pads
from .integer import DYNAMIC_DOMAIN
from .nhwc import NHWC_DOMAIN
from .ops import BY_ONNX, BY_PRIMITIVE, Op, text
from .schema import SCHEMA
from .types import (
    ONNX_ACTIVATIONS,
    ONNX_PAD_MODES,
    ONNX_REDUCTIONS,
    ONNX_RESIZE,
    TYPE_ID_OF,
    ActivationType,
    Format,
    PaddingMode,
    PadMode,
    RoundMode,
    narrowed,
)

I32_MAX = np.iinfo(np.int32).max


# ---------------------------------------------------------------- helpers


def _same_pads(ctx, node, kernel, strides, dilations, lower: bool) -> list[int] | None:
    """Explicit ONNX pads of ``auto_pad=SAME_*`` from the static NHWC input shape, or None."""
    shape = ctx.shape(node.inputs[0])
    if shape is None or not all(isinstance(d, int) for d in shape[1:3]):
        return None
    pairs = [same_pads(size, k, s, d, lower) for size, k, s, d in zip(shape[1:3], kernel, strides, dilations)]
    return [begin for begin, _ in pairs] + [end for _, end in pairs]


def _window(ctx, node, kernel) -> tuple[int, list[int]]:
    """(pad_mode, MindSpore pad list) of a conv/pool node."""
    a = node.attrs
    auto = a.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto == "VALID":
        return PadMode.PAD, [0, 0, 0, 0]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        strides = [int(s) for s in a.get("strides") or [1, 1]]
        dilations = [int(d) for d in a.get("dilations") or [1, 1]]
        pads = _same_pads(ctx, node, kernel, strides, dilations, auto == "SAME_LOWER")
        if pads is None:
            if auto == "SAME_LOWER":
                raise ctx.unsupported(node, "auto_pad SAME_LOWER on a dynamic input")
            return PadMode.SAME, [0, 0, 0, 0]
        return PadMode.PAD, swap_pads(pads)
    return PadMode.PAD, swap_pads(a.get("pads"))


def _act_of(node) -> int:
    return int(node.attrs.get("ms_activation", ActivationType.NO_ACTIVATION))


# ---------------------------------------------------------------- channels-last operators


def _conv_parts(ctx, node, what: str, layout: str) -> tuple[np.ndarray, int, list[int], list[str], dict]:
    """A (transposed) convolution's constant 4-D weight, its group and kernel, its inputs with the weight made
    channels-last (``layout``: the name's suffix) and its stride and dilation fields."""
    a = node.attrs
    w = ctx.const_of(node.inputs[1])
    if w is None or w.ndim != 4:
        raise ctx.unsupported(node, f"a {what} whose weight is not a constant 4-D tensor")
    weight = ctx.const(np.ascontiguousarray(w.transpose(0, 2, 3, 1)), f"{node.inputs[1]}_{layout}",
                       quant=ctx.value(node.inputs[1]).quant)
    inputs = [node.inputs[0], weight] + ([node.inputs[2]] if len(node.inputs) > 2 and node.inputs[2] else [])
    steps = {"stride": [int(s) for s in a.get("strides") or [1, 1]],
             "dilation": [int(d) for d in a.get("dilations") or [1, 1]]}
    return w, int(a.get("group", 1)), [int(k) for k in (a.get("kernel_shape") or w.shape[2:])], inputs, steps


def conv(ctx, node) -> None:
    w, group, kernel, inputs, steps = _conv_parts(ctx, node, "convolution", "ohwi")
    mode, pads = _window(ctx, node, kernel)
    ctx.emit("Conv2DFusion", {
        "format": Format.NHWC, "kernel_size": kernel, **steps, "pad_mode": mode, "pad_list": pads, "mode": 0,
        "group": group, "in_channel": int(w.shape[1]) * group, "out_channel": int(w.shape[0]),
        "activation_type": _act_of(node),
    }, inputs, node.outputs[:1], node)


def _pool(primitive: str, global_: bool):
    def write(ctx, node) -> None:
        a = node.attrs
        attrs = {"format": Format.NHWC, "global": global_, "activation_type": _act_of(node),
                 "round_mode": RoundMode.FLOOR}
        data = node.inputs[0]
        if global_:
            attrs.update({"strides": [1, 1], "pad": [0, 0, 0, 0], "pad_mode": PadMode.PAD})
        else:
            kernel = [int(k) for k in a["kernel_shape"]]
            if any(int(d) != 1 for d in a.get("dilations") or [1, 1]):
                raise ctx.unsupported(node, "dilated pooling")
            mode, pads = _window(ctx, node, kernel)
            if primitive == "AvgPoolFusion" and int(a.get("count_include_pad", 0)) and any(pads):
                # MindSpore Lite averages over the window inside the input: pad with zeros first
                padded = ctx.fresh(f"{data}_padded")
                ctx.emit("PadFusion", {"padding_mode": PaddingMode.CONSTANT, "constant_value": 0.0},
                         [data, ctx.const(np.array([[0, 0], pads[0:2], pads[2:4], [0, 0]], np.int32), "paddings")],
                         [padded], node)
                data, pads = padded, [0, 0, 0, 0]
            attrs.update({"kernel_size": kernel, "strides": [int(s) for s in a.get("strides") or [1, 1]],
                          "pad": pads, "pad_mode": mode,
                          "round_mode": RoundMode.CEIL if a.get("ceil_mode") else RoundMode.FLOOR})
        ctx.emit(primitive, attrs, [data], node.outputs[:1], node)
    return write


def lrn(ctx, node) -> None:
    """ONNX divides alpha by the window size; MindSpore Lite's LRN takes it divided."""
    a = node.attrs
    size = int(a["size"])
    if size % 2 == 0:
        raise ctx.unsupported(node, "an even LRN size")
    ctx.emit("LRN", {"depth_radius": (size - 1) // 2, "bias": float(a.get("bias", 1.0)),
                     "alpha": float(a.get("alpha", 1e-4)) / size, "beta": float(a.get("beta", 0.75)),
                     "norm_region": "ACROSS_CHANNELS"}, node.inputs[:1], node.outputs[:1], node)


def batch_norm(ctx, node) -> None:
    """Inference BatchNormalization as ScaleFusion over the channel axis (what converter_lite emits)."""
    params = [ctx.const_of(n) for n in node.inputs[1:5]]
    if any(p is None for p in params):
        raise ctx.unsupported(node, "BatchNormalization with computed statistics")
    gamma, beta, mean, var = (p.astype(np.float64) for p in params)
    factor = gamma / np.sqrt(var + float(node.attrs.get("epsilon", 1e-5)))
    ctx.emit("ScaleFusion", {"axis": 3, "activation_type": _act_of(node)},
             [node.inputs[0], ctx.const(factor.astype(np.float32), f"{node.name}_scale"),
              ctx.const((beta - mean * factor).astype(np.float32), f"{node.name}_bias")], node.outputs[:1], node)


# ---------------------------------------------------------------- activations


def _activation(act: int, alpha: float | None = None):
    """An Activation node of type ``act``; with the ONNX op's ``alpha`` (``alpha``: its default) when it has one."""
    def write(ctx, node) -> None:
        attrs: dict = {"activation_type": act}
        if alpha is not None:
            attrs["alpha"] = float(node.attrs.get("alpha", alpha))
        ctx.emit("Activation", attrs, node.inputs[:1], node.outputs[:1], node)
    return write


def clip(ctx, node) -> None:
    lo = ctx.scalar(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else -np.inf
    hi = ctx.scalar(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.inf
    if lo is None or hi is None:
        raise ctx.unsupported(node, "Clip with computed bounds")
    if lo == 0.0 and hi == 6.0:
        attrs = {"activation_type": ActivationType.RELU6, "min_val": 0.0, "max_val": 6.0}
    elif lo == 0.0 and np.isinf(hi):
        attrs = {"activation_type": ActivationType.RELU}
    else:
        big = float(np.finfo(np.float32).max)
        attrs = {"activation_type": ActivationType.HARD_TANH, "min_val": float(max(lo, -big)), "max_val": float(min(hi, big))}
    ctx.emit("Activation", attrs, node.inputs[:1], node.outputs[:1], node)


def hard_sigmoid(ctx, node) -> None:
    alpha, beta = float(node.attrs.get("alpha", 0.2)), float(node.attrs.get("beta", 0.5))
    if not (np.isclose(alpha, 1.0 / 6.0) and beta == 0.5):
        raise ctx.unsupported(node, f"HardSigmoid with alpha={alpha}, beta={beta} (MindSpore Lite's is x/6+0.5)")
    ctx.emit("Activation", {"activation_type": ActivationType.HSIGMOID}, node.inputs[:1], node.outputs[:1], node)


def gelu(ctx, node) -> None:
    approximate = node.attrs.get("approximate", "none")
    if isinstance(approximate, bytes):
        approximate = approximate.decode()
    ctx.emit("Activation", {"activation_type": ActivationType.GELU, "approximate": approximate == "tanh"},
             node.inputs[:1], node.outputs[:1], node)


# ---------------------------------------------------------------- arithmetic


def _variadic(primitive: str):
    fused = "activation_type" in SCHEMA.fields[primitive]

    def write(ctx, node) -> None:
        inputs = [i for i in node.inputs if i]
        if len(inputs) == 1:
            return ctx.alias(node.outputs[0], inputs[0], node)
        acc = inputs[0]
        for k, name in enumerate(inputs[1:]):
            out = node.outputs[0] if k == len(inputs) - 2 else ctx.fresh(f"{node.outputs[0]}_{k}")
            ctx.emit(primitive, {"activation_type": 0} if fused else {}, [acc, name], [out], node)
            acc = out
    return write


def prelu(ctx, node) -> None:
    """PReLUFusion takes one slope or one per channel of the last axis (NHWC)."""
    slope = ctx.const_of(node.inputs[1])
    if slope is None:
        raise ctx.unsupported(node, "PRelu with a computed slope")
    if slope.size == 1:
        ctx.emit("PReLUFusion", {"channel_shared": True},
                 [node.inputs[0], ctx.const(slope.reshape(1), f"{node.inputs[1]}_1")], node.outputs[:1], node)
        return
    channels_first = node.domain == NHWC_DOMAIN  # an NCHW slope [C, 1, 1] over NHWC data
    if slope.shape[-1] != slope.size and not channels_first:
        raise ctx.unsupported(node, f"a PRelu slope of shape {list(slope.shape)} (one per last-axis channel needed)")
    ctx.emit("PReLUFusion", {"channel_shared": False},
             [node.inputs[0], ctx.const(slope.reshape(-1), f"{node.inputs[1]}_c")], node.outputs[:1], node)


# ---------------------------------------------------------------- matrix products


def gemm(ctx, node) -> None:
    """``alpha * A' B' + beta * C`` -> MatMulFusion (C as its bias when it is a vector)."""
    a = node.attrs
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    x, w = node.inputs[0], node.inputs[1]
    c = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    weight = ctx.const_of(w)
    if alpha != 1.0 and weight is not None:
        w = ctx.const((weight * np.float32(alpha)).astype(weight.dtype), f"{w}_alpha")
    elif alpha != 1.0:
        raise ctx.unsupported(node, "Gemm with alpha != 1 and a computed B")
    bias_vector = None
    if c is not None:
        cv = ctx.const_of(c)
        n = (weight.shape[0] if a.get("transB") else weight.shape[1]) if weight is not None else None
        if cv is not None and cv.ndim == 1 and cv.size == n and beta == 1.0:
            bias_vector = c  # as it is: an int32 bias keeps its QuantParam
        elif cv is not None and (cv.ndim == 1 or cv.ndim == 2 and cv.shape[0] == 1) and cv.size == n:
            bias_vector = ctx.const((cv.reshape(-1) * np.float32(beta)).astype(cv.dtype), f"{c}_bias")
    product = node.outputs[0] if c is None or bias_vector is not None else ctx.fresh(f"{node.outputs[0]}_ab")
    act = _act_of(node) if product == node.outputs[0] else 0
    ctx.emit("MatMulFusion", {"transpose_a": bool(a.get("transA", 0)), "transpose_b": bool(a.get("transB", 0)),
                              "activation_type": act},
             [x, w] + ([bias_vector] if bias_vector is not None else []), [product], node)
    if c is not None and bias_vector is None:
        if beta != 1.0:
            c = ctx.emit("MulFusion", {"activation_type": 0}, [c, ctx.const(np.float32(beta), "beta")], None, node)[0]
        ctx.emit("AddFusion", {"activation_type": _act_of(node)}, [product, c], node.outputs[:1], node)


# ---------------------------------------------------------------- normalisation, reductions


def layer_norm(ctx, node) -> None:
    axis = int(node.attrs.get("axis", -1))
    if len([o for o in node.outputs if o]) > 1:
        raise ctx.unsupported(node, "LayerNormalization's mean / inv_std_dev outputs")
    inputs = list(node.inputs[:3])
    if len(inputs) < 3 or not inputs[2]:
        gamma = ctx.const_of(inputs[1])
        if gamma is None:
            raise ctx.unsupported(node, "LayerNormalization without B and with a computed scale")
        inputs = inputs[:2] + [ctx.const(np.zeros_like(gamma), f"{node.name}_beta")]
    ctx.emit("LayerNormFusion", {"begin_norm_axis": axis, "begin_params_axis": axis,
                                 "epsilon": float(node.attrs.get("epsilon", 1e-5)), "elementwise_affine": True},
             inputs, node.outputs[:1], node)


_REDUCE_MODE_OF = {onnx: mode for mode, onnx in ONNX_REDUCTIONS.items()}


def reduce(ctx, node) -> None:
    axes = ctx.const_of(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    if len(node.inputs) > 1 and node.inputs[1] and axes is None:
        raise ctx.unsupported(node, "computed reduction axes")
    if axes is None:
        if int(node.attrs.get("noop_with_empty_axes", 0)):
            return ctx.alias(node.outputs[0], node.inputs[0], node)
        rank = ctx.rank(node.inputs[0], node)
        axes = np.arange(rank)
    ctx.emit("ReduceFusion", {"keep_dims": bool(int(node.attrs.get("keepdims", 1))), "mode": _REDUCE_MODE_OF[node.op_type],
                              "reduce_to_end": False, "coeff": 1.0},
             [node.inputs[0], ctx.const(np.asarray(axes, np.int32).reshape(-1), "axes")], node.outputs[:1], node)


# ---------------------------------------------------------------- shapes and data movement


def reshape(ctx, node) -> None:
    if int(node.attrs.get("allowzero", 0)):
        shape = ctx.const_of(node.inputs[1])
        if shape is None or np.any(shape == 0):
            raise ctx.unsupported(node, "Reshape with allowzero and a zero dimension")
    ctx.emit("Reshape", {}, node.inputs[:2], node.outputs[:1], node)


def transpose(ctx, node) -> None:
    perm = node.attrs.get("perm")
    if perm is None:
        perm = list(range(ctx.rank(node.inputs[0], node)))[::-1]
    ctx.emit("Transpose", {}, [node.inputs[0], ctx.const(np.array(perm, np.int32), "perm")], node.outputs[:1], node)


def flatten(ctx, node) -> None:
    axis = int(node.attrs.get("axis", 1))
    if axis < 0:
        axis += ctx.rank(node.inputs[0], node)
    if axis == 1:
        ctx.emit("Flatten", {"axis": 1}, node.inputs[:1], node.outputs[:1], node)
        return
    shape = ctx.shape(node.inputs[0])
    if shape is None or not all(isinstance(d, int) for d in shape[axis:]) and not all(isinstance(d, int) for d in shape[:axis]):
        raise ctx.unsupported(node, f"Flatten at axis {axis} of a dynamic shape")
    if all(isinstance(d, int) for d in shape[axis:]):
        target = [-1, int(np.prod(shape[axis:], dtype=np.int64))]
    else:
        target = [int(np.prod(shape[:axis], dtype=np.int64)), -1]
    ctx.emit("Reshape", {}, [node.inputs[0], ctx.const(np.array(target, np.int32), "shape")], node.outputs[:1], node)


def _axes_attr(primitive: str):
    def write(ctx, node) -> None:
        axes = ctx.const_of(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        if len(node.inputs) > 1 and node.inputs[1] and axes is None:
            raise ctx.unsupported(node, "computed axes")
        attrs = {"axis": [int(v) for v in np.ravel(axes)]} if axes is not None else {}
        ctx.emit(primitive, attrs, node.inputs[:1], node.outputs[:1], node)
    return write


def cast(ctx, node) -> None:
    from litert.ir import DType

    to = DType(int(node.attrs["to"]))
    type_id = TYPE_ID_OF.get(narrowed(to))
    if type_id is None:
        raise ctx.unsupported(node, f"Cast to {to}")
    source = ctx.value(node.inputs[0]).dtype
    if source is not None and narrowed(source) == narrowed(to):  # int64 -> int32 is no cast in a .ms file
        return ctx.alias(node.outputs[0], node.inputs[0], node)
    ctx.emit("Cast", {}, [node.inputs[0], ctx.const(np.array([type_id], np.int32), "to")], node.outputs[:1], node)


def quantize_cast(ctx, node) -> None:
    """An activation QuantizeLinear / DequantizeLinear left between a float and an integer node ->
    QuantDTypeCast (float32 <-> int8); the parameters are the int8 tensor's (:mod:`.integer`)."""
    from litert.ir import DType
    from litert.passes.qdq import activation_params

    params = activation_params(ctx.graph, node)
    if params is None:
        raise ctx.unsupported(node, "a quantisation that is not per tensor with constant parameters on an activation")
    quantize = node.op_type == "QuantizeLinear"
    int8 = node.outputs[0] if quantize else node.inputs[0]
    value = ctx.value(int8)
    if value.quant is None:
        value.quant = params
    int_type = TYPE_ID_OF[value.dtype or DType.INT8]
    float_type = TYPE_ID_OF[DType.FLOAT32]
    src, dst = (float_type, int_type) if quantize else (int_type, float_type)
    ctx.emit("QuantDTypeCast", {"src_t": src, "dst_t": dst, "axis": 0}, node.inputs[:1], node.outputs[:1], node)


def dynamic_matmul(ctx, node) -> None:
    """A dynamically quantised product (:func:`.integer.dynamic_products`) as converter_lite writes one:
    DynamicQuant (per tensor, asymmetric, int8) + MatMulFusion reading its int8 output, both QUANT_DYNAMIC."""
    from litert.ir import DType

    from .types import QuantType

    x = node.inputs[0]
    quantized = ctx.fresh(f"{x}_dynamic_quant")
    ctx.graph.values[quantized].dtype = DType.INT8
    ctx.graph.values[quantized].shape = ctx.shape(x)
    ctx.emit("DynamicQuant", {"symmetric": False, "dst_type": TYPE_ID_OF[DType.INT8], "activation_channel": False,
                              "prefer_axis": 0, "transpose": False}, [x], [quantized], node)
    ctx.ops[-1].quant_type = QuantType.QUANT_DYNAMIC
    ctx.emit("MatMulFusion", {"transpose_a": False, "transpose_b": False, "activation_type": _act_of(node)},
             [quantized] + node.inputs[1:], node.outputs[:1], node)
    ctx.ops[-1].quant_type = QuantType.QUANT_DYNAMIC


def slice_(ctx, node) -> None:
    starts, ends = ctx.const_of(node.inputs[1]), ctx.const_of(node.inputs[2])
    axes = ctx.const_of(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    steps = ctx.const_of(node.inputs[4]) if len(node.inputs) > 4 and node.inputs[4] else None
    if starts is None or ends is None or (len(node.inputs) > 3 and node.inputs[3] and axes is None) \
            or (len(node.inputs) > 4 and node.inputs[4] and steps is None):
        raise ctx.unsupported(node, "Slice with computed bounds")
    rank = ctx.rank(node.inputs[0], node)
    axes = [int(a) + rank if int(a) < 0 else int(a) for a in (np.ravel(axes) if axes is not None else range(len(starts)))]
    steps = [int(s) for s in np.ravel(steps)] if steps is not None else [1] * len(axes)
    begin, end, stride = [0] * rank, [0] * rank, [1] * rank
    begin_mask = end_mask = 0
    for i in range(rank):
        if i not in axes:
            begin_mask |= 1 << i
            end_mask |= 1 << i
    for a, s, e, st in zip(axes, np.ravel(starts), np.ravel(ends), steps):
        begin[a], end[a], stride[a] = int(np.clip(s, -I32_MAX, I32_MAX)), int(np.clip(e, -I32_MAX - 1, I32_MAX)), st
    ctx.emit("StridedSlice", {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": 0, "new_axis_mask": 0,
                              "shrink_axis_mask": 0},
             [node.inputs[0], ctx.const(np.array(begin, np.int32), "begin"), ctx.const(np.array(end, np.int32), "end"),
              ctx.const(np.array(stride, np.int32), "strides")], node.outputs[:1], node)


def split(ctx, node) -> None:
    outs = [o for o in node.outputs]
    sizes = ctx.const_of(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    attrs: dict = {"output_num": len(outs), "axis": int(node.attrs.get("axis", 0))}
    if sizes is not None:
        attrs["size_splits"] = [int(s) for s in np.ravel(sizes)]
    elif len(node.inputs) > 1 and node.inputs[1]:
        raise ctx.unsupported(node, "Split with computed sizes")
    ctx.emit("Split", attrs, node.inputs[:1], outs, node)


def pad(ctx, node) -> None:
    pads = ctx.const_of(node.inputs[1])
    if pads is None or (len(node.inputs) > 3 and node.inputs[3]):
        raise ctx.unsupported(node, "Pad with computed pads or axes")
    mode = node.attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    padding_mode = {onnx: ms for ms, onnx in ONNX_PAD_MODES.items()}.get(mode)
    if padding_mode is None:
        raise ctx.unsupported(node, f"Pad mode {mode}")
    value = ctx.scalar(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else 0.0
    if value is None:
        raise ctx.unsupported(node, "Pad with a computed value")
    half = len(pads) // 2
    paddings = np.stack([np.ravel(pads)[:half], np.ravel(pads)[half:]], axis=1).astype(np.int32)
    ctx.emit("PadFusion", {"padding_mode": padding_mode, "constant_value": float(value)},
             [node.inputs[0], ctx.const(paddings, "paddings")], node.outputs[:1], node)


def identity(ctx, node) -> None:
    ctx.alias(node.outputs[0], node.inputs[0], node)


def lstm(ctx, node) -> None:
    """ONNX LSTM as converter_lite 2.0.0 writes it: X, W, R, B, initial_h, initial_c in ONNX's layout."""
    a = node.attrs
    direction = a.get("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction == "reverse" or a.get("activations") or a.get("clip") is not None or int(a.get("input_forget", 0)) \
            or int(a.get("layout", 0)):
        raise ctx.unsupported(node, "LSTM other than forward/bidirectional with default activations")
    if len(node.inputs) > 4 and node.inputs[4]:
        raise ctx.unsupported(node, "LSTM sequence_lens")
    if len(node.inputs) > 7 and node.inputs[7]:
        raise ctx.unsupported(node, "LSTM peepholes")
    w = ctx.const_of(node.inputs[1])
    if w is None:
        raise ctx.unsupported(node, "LSTM with computed weights")
    dirs, hidden = w.shape[0], int(a.get("hidden_size") or w.shape[1] // 4)
    inputs = list(node.inputs[:3])
    inputs.append(node.inputs[3] if len(node.inputs) > 3 and node.inputs[3]
                  else ctx.const(np.zeros((dirs, 8 * hidden), w.dtype), f"{node.name}_B"))
    for k in (5, 6):
        if len(node.inputs) > k and node.inputs[k]:
            inputs.append(node.inputs[k])
            continue
        x_shape = ctx.shape(node.inputs[0])  # MindSpore Lite 2.0.0 needs the initial states as tensors
        if x_shape is None or not isinstance(x_shape[1], int):
            raise ctx.unsupported(node, "LSTM without initial states on a dynamic batch")
        inputs.append(ctx.const(np.zeros((dirs, x_shape[1], hidden), w.dtype), f"{node.name}_init{k}"))
    outs = list(node.outputs) + [""] * (3 - len(node.outputs))
    outs = [o or ctx.fresh(f"{node.name}_unused{k}") for k, o in enumerate(outs)]
    ctx.emit("LSTM", {"bidirectional": direction == "bidirectional", "has_bias": False, "hidden_size": hidden},
             inputs, outs, node)


# ---------------------------------------------------------------- added for converter_lite's ONNX coverage


def conv_transpose(ctx, node) -> None:
    """ConvTranspose as Conv2dTransposeFusion, weights [C_in, kH, kW, C_out/group] as converter_lite lays them."""
    a = node.attrs
    auto = text(a.get("auto_pad"), "NOTSET")
    if auto not in ("NOTSET", "VALID") or a.get("output_shape") is not None:
        raise ctx.unsupported(node, "ConvTranspose with auto_pad SAME or output_shape")
    w, group, kernel, inputs, steps = _conv_parts(ctx, node, "deconvolution", "ihwo")
    ctx.emit("Conv2dTransposeFusion", {
        "format": Format.NHWC, "kernel_size": kernel, **steps, "pad_mode": PadMode.PAD, "pad": [0, 0, 0, 0],
        "pad_list": swap_pads(a.get("pads") if auto == "NOTSET" else None), "mode": 0, "group": group,
        "in_channel": int(w.shape[0]), "out_channel": int(w.shape[1]) * group, "activation_type": _act_of(node),
        "output_paddings": [int(p) for p in a.get("output_padding") or [0, 0]],
    }, inputs, node.outputs[:1], node)


#: ONNX Resize attribute -> its value -> the schema enum's (the reader's names inverted: floor is FLOOR, not NORMAL;
#: pytorch_half_pixel is half_pixel)
RESIZE_ENUMS = {onnx: {name: v for v, name in names.items()} for onnx, names in ONNX_RESIZE.values()}
RESIZE_ENUMS["coordinate_transformation_mode"]["pytorch_half_pixel"] = RESIZE_ENUMS["coordinate_transformation_mode"]["half_pixel"]


def resize(ctx, node) -> None:
    """Resize of the two spatial axes of NHWC data: scales as input 1 ([H, W]) or sizes as new_height/new_width."""
    a = node.attrs
    method, coordinates, nearest = (RESIZE_ENUMS[k].get(text(a.get(k), default)) for k, default in (
        ("mode", "nearest"), ("coordinate_transformation_mode", "half_pixel"), ("nearest_mode", "round_prefer_floor")))
    if method is None or coordinates is None or nearest is None or a.get("axes") is not None \
            or int(a.get("antialias", 0)) or text(a.get("keep_aspect_ratio_policy"), "stretch") != "stretch":
        raise ctx.unsupported(node, "Resize with these attributes")
    scales = ctx.const_of(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    sizes = ctx.const_of(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    attrs = {"format": Format.NHWC, "method": method, "new_height": 0, "new_width": 0, "preserve_aspect_ratio": False,
             "coordinate_transform_mode": coordinates, "cubic_coeff": float(a.get("cubic_coeff_a", -0.75)),
             "exclude_outside": int(a.get("exclude_outside", 0)), "extrapolation_value": 0.0, "nearest_mode": nearest}
    inputs = [node.inputs[0]]
    if scales is not None and scales.size == 4 and np.all(np.ravel(scales)[:2] == 1):
        inputs.append(ctx.const(np.asarray(np.ravel(scales)[2:], np.float32), "scales"))
    elif sizes is not None and sizes.size == 4:
        attrs["new_height"], attrs["new_width"] = (int(v) for v in np.ravel(sizes)[2:])
    else:
        raise ctx.unsupported(node, "Resize of other than the spatial axes, or with computed scales or sizes")
    ctx.emit("Resize", attrs, inputs, node.outputs[:1], node)


def constant_of_shape(ctx, node) -> None:
    from litert.ir import DType

    value = node.attrs.get("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    type_id = TYPE_ID_OF.get(narrowed(DType.from_numpy(value.dtype)))
    ctx.emit("ConstantOfShape", {"data_type": type_id, "value": [float(value[0])]}, node.inputs[:1], node.outputs[:1],
             node)


def non_zero(ctx, node) -> None:
    """ONNX's [rank, N] indices: MindSpore Lite's one-input Where gives [N, rank] (converter_lite transposes too)."""
    rows = ctx.emit("Where", {}, node.inputs[:1], None, node)[0]
    out = ctx.value(node.outputs[0])
    ctx.value(rows).dtype = out.dtype
    ctx.value(rows).shape = None if out.shape is None else tuple(reversed(out.shape))
    ctx.emit("Transpose", {}, [rows, ctx.const(np.array([1, 0], np.int32), "perm")], node.outputs[:1], node)


# ---------------------------------------------------------------- registry

def write_row(ctx, node, op: Op) -> None:
    """An ONNX op as its primitive of :data:`.ops.TABLE`."""
    for name, value in op.only.items():
        given = node.attrs.get(name, value)
        if (text(given, "") if isinstance(given, bytes) else given) != value:
            raise ctx.unsupported(node, f"{node.op_type} with {name}={given!r} ({op.primitive} takes {value!r} only)")
    values = {f.field: f.default if f.onnx is None else
              f.to_ms(node.attrs[f.onnx] if f.default is None else node.attrs.get(f.onnx, f.default)) for f in op.attrs}
    attrs = {f.field: values[f.field] for f in op.attrs if f.input is None}
    if op.fused:
        attrs["activation_type"] = _act_of(node)
    if op.inputs is None:
        inputs = [i for i in node.inputs if i]
    else:
        inputs = list(node.inputs[:op.inputs])
        while inputs and not inputs[-1]:
            inputs.pop()
    for f in op.attrs:
        if f.input is not None:  # held as a constant input
            inputs.insert(f.input, ctx.const(np.array([values[f.field]], np.int32), f.field))
    ctx.emit(op.primitive, attrs, inputs, node.outputs[:op.outputs], node)


def _by_attr(attr: str, default: int, primitives: dict[int, str]):
    """An ONNX op that is one of several primitives by the value of ``attr``."""
    def write(ctx, node) -> None:
        write_row(ctx, node, BY_PRIMITIVE[primitives[int(bool(int(node.attrs.get(attr, default))))]])
    return write


# ---------------------------------------------------------------- registry

WRITERS: dict[tuple[str, str], Callable] = {
    **by_domain({
        NHWC_DOMAIN: {
            **{op: functools.partial(write_row, op=row) for op, row in BY_ONNX.items() if row.channels_last},
            "Conv": conv,
            "MaxPool": _pool("MaxPoolFusion", False),
            "AveragePool": _pool("AvgPoolFusion", False),
            "GlobalAveragePool": _pool("AvgPoolFusion", True),
            "GlobalMaxPool": _pool("MaxPoolFusion", True),
            "LRN": lrn,
            "BatchNormalization": batch_norm,
            "PRelu": prelu,
            "ConvTranspose": conv_transpose,
            "Resize": resize,
        },
        "": {
            **{op: functools.partial(write_row, op=row) for op, row in BY_ONNX.items() if not row.channels_last},
            **{op: reduce for op in _REDUCE_MODE_OF},
            "Relu": _activation(ActivationType.RELU),
            **{op: _activation(act, alpha) for act, (op, alpha) in ONNX_ACTIVATIONS.items()},
            "HardSigmoid": hard_sigmoid,
            "Gelu": gelu,
            "Clip": clip,
            "Max": _variadic("Maximum"),
            "Min": _variadic("Minimum"),
            "Sum": _variadic("AddFusion"),
            "Mod": _by_attr("fmod", 0, {0: "FloorMod", 1: "Mod"}),
            "Trilu": _by_attr("upper", 1, {0: "Tril", 1: "Triu"}),
            "PRelu": prelu,
            "Gemm": gemm,
            "LayerNormalization": layer_norm,
            "Reshape": reshape,
            "Transpose": transpose,
            "Flatten": flatten,
            "Squeeze": _axes_attr("Squeeze"),
            "Unsqueeze": _axes_attr("Unsqueeze"),
            "Cast": cast,
            "QuantizeLinear": quantize_cast,
            "DequantizeLinear": quantize_cast,
            "Slice": slice_,
            "Split": split,
            "Pad": pad,
            "Identity": identity,
            "Dropout": identity,
            "LSTM": lstm,
            "ConstantOfShape": constant_of_shape,
            "NonZero": non_zero,
        },
        DYNAMIC_DOMAIN: {
            "MatMul": dynamic_matmul,
        },
    }),
}
