"""Lowerings of the quantised (int8) ops onto the library's int8 steps.

QLinearConv (ungrouped or depthwise), QLinearMatMul and com.microsoft QGemm become one int8 step each
with the requantisation fused: int32 accumulation, per-channel float32 scale, output zero point and the
clamp of the output type.  Their outputs stay uint8/int8 in the segment's arena, so consecutive
quantised convolutions never go through float.  QuantizeLinear/DequantizeLinear (per tensor) become
conversion steps, so the float islands of a QDQ model (Add, pooling) stay in the same native segment.

The activation zero point is folded into the bias here, once: the kernel adds
``bias - x_zero * sum(w[m])`` to the raw ``sum(x * w)``, and reads padding as ``x_zero``; int8
activations are read as uint8 (bytes flipped, zero point + 128), which leaves every product unchanged.
A node these steps cannot compute exactly as its numpy kernel does (non-zero weight zero point, grouped
convolution, per-row activation zero points, float output) is declined and runs its numpy kernel.
"""
from __future__ import annotations

import math

import numpy as np

from litert.ir import Node

from ..kernels.nn._common import spatial_attrs, window_geometry
from .lowering import Lowered, LowerContext, Step, lowering

QUANT_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8))
INT32 = (np.iinfo(np.int32).min, np.iinfo(np.int32).max)


def _type_range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _scalar(ctx: LowerContext, name: str) -> np.ndarray | None:
    """A constant single-element parameter (scale or zero point), else None."""
    value = ctx.const(name) if name else None
    return value.reshape(()) if value is not None and value.size == 1 else None


def _quant_tensor(ctx: LowerContext, name: str) -> str | None:
    """None when ``name`` is a uint8/int8 tensor with a static shape, else why not."""
    if ctx.dtype(name) not in QUANT_DTYPES:
        return f"{name!r} is {ctx.dtype(name)}, int8 steps take uint8/int8"
    if ctx.shape(name) is None:
        return f"{name!r} has no static shape"
    return None


class _Params:
    """The requantisation of one quantised product: input/output zero points in the kernel's terms,
    the per-channel scale and the folded bias."""

    def __init__(self, x_zero: int, x_signed: bool, y_zero: int, y_range: tuple[int, int], scale: np.ndarray,
                 bias: np.ndarray):
        self.x_zero, self.x_signed, self.y_zero, self.y_range = x_zero, x_signed, y_zero, y_range
        self.scale, self.bias = scale, bias

    def ints(self) -> tuple[int, ...]:
        return (self.x_zero, int(self.x_signed), self.y_zero, *self.y_range)


def _requantisation(ctx: LowerContext, x: str, x_scale: str, x_zp: str, weights: np.ndarray, w_scale: str,
                    w_zp: str, y_scale: str, y_zp: str, y: str, bias: str | None) -> "_Params | str":
    """weights: int8 [m, k...] (output channel first)."""
    m = weights.shape[0]
    xs, xz, ys, yz = (_scalar(ctx, n) for n in (x_scale, x_zp, y_scale, y_zp))
    ws = ctx.const(w_scale) if w_scale else None
    if xs is None or ys is None or xz is None or yz is None or ws is None:
        return "scales and zero points must be constant scalars (weight scale: per channel)"
    if xs.dtype != np.float32 or ys.dtype != np.float32 or ws.dtype != np.float32 or ws.size not in (1, m):
        return "float32 scales, per tensor or per output channel"
    if xz.dtype != ctx.dtype(x) or yz.dtype != ctx.dtype(y):
        return "zero point types differ from their tensors"
    wz = ctx.const(w_zp) if w_zp else None
    if (w_zp and wz is None) or (wz is not None and np.any(wz != 0)):
        return "weight zero point other than 0"
    x_signed = ctx.dtype(x) == np.int8
    x_zero = int(xz) + (128 if x_signed else 0)
    acc_bias = np.zeros(m, np.int64)
    if bias:
        b = ctx.const(bias)
        if b is None or b.dtype != np.int32 or b.size != m:
            return "bias is not a constant int32 vector over the output channels"
        acc_bias += b.reshape(-1).astype(np.int64)
    acc_bias -= x_zero * weights.reshape(m, -1).astype(np.int64).sum(axis=1)
    if acc_bias.min(initial=0) < INT32[0] or acc_bias.max(initial=0) > INT32[1]:
        return "folded bias leaves int32"
    # float32 as the numpy kernel and onnxruntime compute it: x_scale * w_scale / y_scale
    scale = (np.float32(xs) * np.broadcast_to(ws.reshape(-1), (m,)).astype(np.float32)) / np.float32(ys)
    return _Params(x_zero, x_signed, int(yz), _type_range(ctx.dtype(y)), np.ascontiguousarray(scale, np.float32),
                   acc_bias.astype(np.int32))


def _conv_geometry(node: Node, ctx: LowerContext, xs, ws) -> "tuple | str":
    kernel = list(node.attrs.get("kernel_shape") or ws[2:])
    strides, dilations, pads = spatial_attrs(node.attrs, 2)
    out, pb, pe = window_geometry(xs[2:], kernel, strides, dilations, pads, node.attrs.get("auto_pad", "NOTSET"))
    if min(pb) < 0 or min(pe) < 0 or min(out) < 1:
        return "window geometry"
    return kernel, strides, dilations, pb, out


@lowering("QLinearConv")
def _qlinear_conv(node: Node, ctx: LowerContext):
    names = list(node.inputs) + [""] * (9 - len(node.inputs))
    x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias = names[:9]
    y = node.outputs[0]
    why = _quant_tensor(ctx, x) or _quant_tensor(ctx, y)
    if why:
        return why
    weights = ctx.const(w)
    xs = ctx.shape(x)
    if weights is None or weights.dtype != np.int8 or weights.ndim != 4 or len(xs) != 4:
        return "native int8 conv is 2-D with constant int8 weights"
    geometry = _conv_geometry(node, ctx, xs, weights.shape)
    if isinstance(geometry, str):
        return geometry
    kernel, strides, dilations, pb, out = geometry
    n, c = xs[0], xs[1]
    m = weights.shape[0]
    group = int(node.attrs.get("group", 1))
    why = ctx.mismatch(y, (n, m, *out))
    if why:
        return why
    if weights.shape[1] * group != c or list(weights.shape[2:]) != kernel:
        return "weight shape does not match the input"
    depthwise = group == c == m and c > 1
    if group != 1 and not depthwise:
        return "grouped int8 convolution"
    if depthwise and kernel[0] * kernel[1] > 512:
        return "depthwise kernel over 512 taps (its float32 accumulation would not be exact)"
    params = _requantisation(ctx, x, x_scale, x_zp, weights, w_scale, w_zp, y_scale, y_zp, y, bias or None)
    if isinstance(params, str):
        return params
    native = ctx.native
    ints = (n, c, xs[2], xs[3], m, out[0], out[1], kernel[0], kernel[1], strides[0], strides[1], dilations[0],
            dilations[1], pb[0], pb[1], group, *params.ints(), 0)
    bias_name, scale_name = f"{node.name}/qbias", f"{node.name}/qscale"
    consts = {bias_name: params.bias, scale_name: params.scale}
    if depthwise:  # [c][1][kh][kw] int8 is already the kernel's layout
        return Lowered([Step(native.STEP_QDWCONV2D, (x, w, bias_name, scale_name, y), ints, (), y)], consts=consts)
    packed_name = f"{node.name}/qpacked"
    consts[packed_name] = _packed(ctx, weights, m, c, kernel[0], kernel[1])
    return Lowered([Step(native.STEP_QCONV2D, (x, packed_name, bias_name, scale_name, y), ints, (), y)],
                   consts=consts)


def _packed(ctx: LowerContext, weights: np.ndarray, m: int, c: int, kh: int, kw: int) -> np.ndarray:
    packed = np.empty(ctx.native.qconv_packed_bytes(m, c, kh, kw), np.int8)
    ctx.native.pack_qconv_weights(np.ascontiguousarray(weights, np.int8), m, c, kh, kw, packed)
    return packed


def _rows_product(node: Node, ctx: LowerContext, a: str, a_scale: str, a_zp: str, b_km: np.ndarray, b_scale: str,
                  b_zp: str, y_scale: str, y_zp: str, y: str, bias: str | None):
    """a [..., k] x b [k, n] as a channels-last 1x1 int8 convolution over a's rows."""
    why = _quant_tensor(ctx, a) or _quant_tensor(ctx, y)
    if why:
        return why
    shape = ctx.shape(a)
    if len(shape) < 1 or b_km.dtype != np.int8 or b_km.ndim != 2 or b_km.shape[0] != shape[-1]:
        return "native int8 matmul takes [..., k] x constant int8 [k, n]"
    k, cols = b_km.shape
    rows = math.prod(shape[:-1])
    why = ctx.mismatch(y, (*shape[:-1], cols))
    if why or rows < 1 or k < 1:
        return why or "empty product"
    weights = np.ascontiguousarray(b_km.T)  # [n, k]: output channel first
    params = _requantisation(ctx, a, a_scale, a_zp, weights, b_scale, b_zp, y_scale, y_zp, y, bias)
    if isinstance(params, str):
        return params
    ints = (1, k, 1, rows, cols, 1, rows, 1, 1, 1, 1, 1, 1, 0, 0, 1, *params.ints(),
            ctx.native.Q_X_NHWC | ctx.native.Q_Y_NHWC)
    packed_name, bias_name, scale_name = (f"{node.name}/{s}" for s in ("qpacked", "qbias", "qscale"))
    consts = {packed_name: _packed(ctx, weights, cols, k, 1, 1), bias_name: params.bias, scale_name: params.scale}
    return Lowered([Step(ctx.native.STEP_QCONV2D, (a, packed_name, bias_name, scale_name, y), ints, (), y)],
                   consts=consts)


@lowering("QLinearMatMul")
def _qlinear_matmul(node: Node, ctx: LowerContext):
    a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = (list(node.inputs) + [""] * 8)[:8]
    weights = ctx.const(b)
    if weights is None or not a_zp or not y_zp:
        return "B is not a constant, or a zero point is absent"
    return _rows_product(node, ctx, a, a_scale, a_zp, weights, b_scale, b_zp, y_scale, y_zp, node.outputs[0], None)


@lowering("QGemm", domain="com.microsoft")
def _qgemm(node: Node, ctx: LowerContext):
    a, a_scale, a_zp, b, b_scale, b_zp, c, y_scale, y_zp = (list(node.inputs) + [""] * 9)[:9]
    attrs = node.attrs
    if attrs.get("transA", 0) or float(attrs.get("alpha", 1.0)) != 1.0:
        return "transA or alpha"
    if not y_scale or not y_zp or not a_zp:
        return "float output (no y_scale) or absent zero points"
    weights = ctx.const(b)
    if weights is None or weights.ndim != 2:
        return "B is not a constant matrix"
    if attrs.get("transB", 0):
        weights = weights.T
    if len(ctx.shape(a) or ()) != 2:
        return "A is not 2-D"
    return _rows_product(node, ctx, a, a_scale, a_zp, weights, b_scale, b_zp, y_scale, y_zp, node.outputs[0],
                         c or None)


@lowering("QuantizeLinear")
def _quantize(node: Node, ctx: LowerContext):
    x, y = node.inputs[0], node.outputs[0]
    scale = _scalar(ctx, node.inputs[1]) if len(node.inputs) > 1 else None
    zero = _scalar(ctx, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if ctx.float_tensors(node, [x]) or _quant_tensor(ctx, y):
        return ctx.float_tensors(node, [x]) or _quant_tensor(ctx, y)
    if scale is None or scale.dtype != np.float32 or not float(scale) > 0 or (len(node.inputs) > 2 and
                                                                             node.inputs[2] and zero is None):
        return "per-tensor positive float32 scale and constant zero point only"
    if node.attrs.get("block_size") or node.attrs.get("precision") or ctx.mismatch(y, ctx.shape(x)):
        return ctx.mismatch(y, ctx.shape(x)) or "blocked or precision-converted quantisation"
    if (zero if zero is not None else np.uint8(0)).dtype != ctx.dtype(y):
        return "zero point type differs from the output"
    lo, hi = _type_range(ctx.dtype(y))
    ints = (math.prod(ctx.shape(x)), int(zero) if zero is not None else 0, lo, hi, 0)
    return Lowered([Step(ctx.native.STEP_QUANTIZE, (x, y), ints, (float(scale),), y)])


@lowering("DequantizeLinear")
def _dequantize(node: Node, ctx: LowerContext):
    x, y = node.inputs[0], node.outputs[0]
    scale = _scalar(ctx, node.inputs[1]) if len(node.inputs) > 1 else None
    zero = _scalar(ctx, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if _quant_tensor(ctx, x) or ctx.float_tensors(node, [y]):
        return _quant_tensor(ctx, x) or ctx.float_tensors(node, [y])
    if scale is None or scale.dtype != np.float32 or (len(node.inputs) > 2 and node.inputs[2] and zero is None):
        return "per-tensor float32 scale and constant zero point only"
    if node.attrs.get("block_size") or node.attrs.get("output_dtype") not in (None, 0, 1) \
            or ctx.mismatch(y, ctx.shape(x)):
        return ctx.mismatch(y, ctx.shape(x)) or "blocked dequantisation or a non-float32 output"
    ints = (math.prod(ctx.shape(x)), int(zero) if zero is not None else 0, 0, 0, int(ctx.dtype(x) == np.int8))
    return Lowered([Step(ctx.native.STEP_DEQUANTIZE, (x, y), ints, (float(scale),), y)])
