"""Convolutions and pooling: Conv (and its integer, quantised, deformable,
transposed and fused forms), Max/Average/Lp pooling, global pooling,
MaxUnpool, RoI pooling, CausalConvWithState."""
from __future__ import annotations

from collections.abc import Sequence

from ...ir import Dim, DType, Graph, Node, Shape, Value
from ._base import Info, Inputs, arg, dtype_of, ints, is_omitted, rule, shaped_rule


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1, lower: bool = False) -> tuple[int, int]:
    """(begin, end) padding of one spatial axis under ``auto_pad`` SAME_UPPER (the odd pixel at the end, as
    TensorFlow and MindSpore pad ``same``) or, ``lower``, SAME_LOWER: the output is ``ceil(size / stride)``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


def window(node: Node, spatial: Sequence[Dim], kernel: Sequence[Dim]) -> list[Dim]:
    """Output sizes of a sliding window (conv/pool) over ``spatial`` dims,
    following ``strides``, ``dilations``, ``pads``, ``auto_pad``, ``ceil_mode``."""
    rank = len(spatial)
    strides = node.attrs.get("strides") or [1] * rank
    dilations = node.attrs.get("dilations") or [1] * rank
    pads = node.attrs.get("pads") or [0] * (2 * rank)
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    ceil = node.attrs.get("ceil_mode", 0)
    out: list[Dim] = []
    for i, size in enumerate(spatial):
        if not isinstance(size, int):
            out.append(None)
            continue
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // strides[i]))
            continue
        if not isinstance(kernel[i], int):
            out.append(None)
            continue
        effective = (kernel[i] - 1) * dilations[i] + 1
        if auto_pad == "VALID":
            out.append((size - effective) // strides[i] + 1)
            continue
        span = size + pads[i] + pads[i + rank] - effective
        if ceil:
            n = -(-span // strides[i]) + 1
            if (n - 1) * strides[i] >= size + pads[i]:  # the last window would start in the end padding
                n -= 1
        else:
            n = span // strides[i] + 1
        out.append(n)
    return out


def _conv(node: Node, x: Value | None, w: Value | None, dtype: DType | None) -> list[Info]:
    if x is None or x.shape is None:
        return [(dtype, None)]
    if w is None or w.shape is None:
        return [(dtype, (x.shape[0], None, *[None] * (len(x.shape) - 2)))]
    kernel = node.attrs.get("kernel_shape") or list(w.shape[2:])
    return [(dtype, (x.shape[0], w.shape[0], *window(node, x.shape[2:], kernel)))]


@rule("Conv", "DeformConv")
@rule("FusedConv", domain="com.microsoft")
def _conv_rule(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return _conv(node, inputs[0], inputs[1], dtype_of(inputs[0]))


@rule("ConvInteger")
def _conv_integer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return _conv(node, inputs[0], inputs[1], DType.INT32)


@rule("QLinearConv")
def _qlinear_conv(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    # x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
    return _conv(node, inputs[0], inputs[3], dtype_of(arg(inputs, 7)) or dtype_of(inputs[0]))


@shaped_rule("ConvTranspose")
def _conv_transpose(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x, w = inputs[0], inputs[1]
    n_spatial = len(shape) - 2
    group = node.attrs.get("group", 1)
    channels = w.shape[1] * group if w.shape is not None and isinstance(w.shape[1], int) else None
    explicit = node.attrs.get("output_shape")
    if explicit:
        return [(x.dtype, (shape[0], channels, *explicit[-n_spatial:]))]
    kernel = node.attrs.get("kernel_shape") or (list(w.shape[2:]) if w.shape is not None else [None] * n_spatial)
    strides = node.attrs.get("strides") or [1] * n_spatial
    dilations = node.attrs.get("dilations") or [1] * n_spatial
    out_pad = node.attrs.get("output_padding") or [0] * n_spatial
    pads = node.attrs.get("pads") or [0] * (2 * n_spatial)
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    out: list[Dim] = []
    for i, size in enumerate(shape[2:]):
        if not isinstance(size, int):
            out.append(None)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(size * strides[i])
        elif not isinstance(kernel[i], int):
            out.append(None)
        else:
            total_pad = 0 if auto_pad == "VALID" else pads[i] + pads[i + n_spatial]
            out.append(strides[i] * (size - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 - total_pad)
    return [(x.dtype, (shape[0], channels, *out))]


@rule("MaxPool", "AveragePool", "LpPool")
def _pool(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        shape: Shape | None = None
    else:
        shape = (x.shape[0], x.shape[1], *window(node, x.shape[2:], node.attrs["kernel_shape"]))
    return [(x.dtype, shape), (DType.INT64, shape)][: len(node.outputs)]


@shaped_rule("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    return [(x.dtype, (*shape[:2], *[1] * (len(shape) - 2)))]


@rule("MaxUnpool")
def _max_unpool(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if not is_omitted(node, 2):
        target = ints(inputs, 2)
        if target is not None:
            return [(x.dtype, tuple(target))]
        return [(x.dtype, None if x.shape is None else (None,) * len(x.shape))]
    if x.shape is None:
        return [(x.dtype, None)]
    n = len(x.shape) - 2
    kernel = node.attrs["kernel_shape"]
    strides = node.attrs.get("strides") or [1] * n
    pads = node.attrs.get("pads") or [0] * (2 * n)
    out = [(d - 1) * strides[i] + kernel[i] - pads[i] - pads[i + n] if isinstance(d, int) else None
           for i, d in enumerate(x.shape[2:])]
    return [(x.dtype, (x.shape[0], x.shape[1], *out))]


def _rois(rois: Value | None) -> Dim:
    return rois.shape[0] if rois is not None and rois.shape else None


@rule("MaxRoiPool")
def _max_roi_pool(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, rois = inputs[0], inputs[1]
    channels = x.shape[1] if x.shape is not None else None
    return [(x.dtype, (_rois(rois), channels, *node.attrs["pooled_shape"]))]


@rule("RoiAlign")
def _roi_align(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, rois = inputs[0], inputs[1]
    channels = x.shape[1] if x.shape is not None else None
    count = _rois(rois) or _rois(arg(inputs, 2))
    return [(x.dtype, (count, channels, node.attrs.get("output_height", 1), node.attrs.get("output_width", 1)))]


@rule("CausalConvWithState")
def _causal_conv(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, w = inputs[0], inputs[1]
    state = None
    if x.shape is not None and len(x.shape) == 3:
        k = w.shape[2] if w.shape is not None and len(w.shape) == 3 else None
        state = (x.shape[0], x.shape[1], k - 1 if isinstance(k, int) else None)
    return [(x.dtype, x.shape), (x.dtype, state)][: len(node.outputs)]

