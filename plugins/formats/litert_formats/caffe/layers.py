"""Caffe layers -> IR operators (ONNX semantics), one function per layer type; :data:`LAYERS` is the registry.

Each reader takes the :class:`~.reader.CaffeBuilder` and the LayerParameter,
reads its bottoms, weight blobs (reshaped to the shape Caffe expects) and
parameters, and writes its tops.  :data:`LIMITS` notes what a layer type does
not read; the coverage table in ``docs/coverage-caffe.md`` comes from both.
"""
from __future__ import annotations

import math

import numpy as np

from litert.limits import numel

from . import caffe_pb2

P = caffe_pb2


def _hw(b, layer, repeated, h: int, w: int, has_hw: bool, default: int | None, what: str) -> list[int]:
    """Caffe's 2-D spatial parameter: ``*_h``/``*_w``, else one value for both, else two, else ``default``."""
    if has_hw:
        return [int(h), int(w)]
    values = [int(v) for v in repeated]
    if not values:
        if default is None:
            raise b.unsupported(layer, f"a missing {what}")
        return [default, default]
    if len(values) == 1:
        return values * 2
    if len(values) == 2:
        return values
    raise b.unsupported(layer, f"{len(values)} {what} values (2-D layers only)")


def _conv_window(b, layer, p) -> dict:
    if p.axis != 1:
        raise b.unsupported(layer, f"axis {p.axis}")
    kernel = _hw(b, layer, p.kernel_size, p.kernel_h, p.kernel_w, p.HasField("kernel_h"), None, "kernel_size")
    pads = _hw(b, layer, p.pad, p.pad_h, p.pad_w, p.HasField("pad_h") or p.HasField("pad_w"), 0, "pad")
    strides = _hw(b, layer, p.stride, p.stride_h, p.stride_w, p.HasField("stride_h") or p.HasField("stride_w"), 1,
                  "stride")
    dilations = _hw(b, layer, p.dilation, 1, 1, False, 1, "dilation")
    if min(kernel) < 1 or min(strides) < 1 or min(dilations) < 1 or p.group < 1:
        raise b.unsupported(layer, "a zero kernel, stride, dilation or group")
    return {"kernel_shape": kernel, "strides": strides, "pads": pads * 2, "dilations": dilations,
            "group": int(p.group)}


def _spatial_input(b, layer) -> tuple[str, tuple]:
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    if len(shape) != 4:
        raise b.unsupported(layer, f"a rank-{len(shape)} input (2-D layers take N, C, H, W)")
    return x, shape


def convolution(b, layer) -> None:
    """Weights [O, C/group, kh, kw] as ONNX's Conv; bias [O] unless ``bias_term: false``."""
    _convolution(b, layer, "Conv", transposed=False)


def deconvolution(b, layer) -> None:
    """Weights [C, O/group, kh, kw] as ONNX's ConvTranspose; output ``s*(H-1) + d*(k-1) + 1 - 2p``."""
    _convolution(b, layer, "ConvTranspose", transposed=True)


def _convolution(b, layer, op_type: str, transposed: bool) -> None:
    """Conv or ConvTranspose from a ``convolution_param``: they differ only in the weight's first two dims."""
    p = layer.convolution_param
    attrs = _conv_window(b, layer, p)
    x, shape = _spatial_input(b, layer)
    out, group = int(p.num_output), attrs["group"]
    if shape[1] % group or out % group:
        raise b.unsupported(layer, f"{shape[1]} channels or {out} outputs in {group} groups")
    channels = (shape[1], out // group) if transposed else (out, shape[1] // group)
    weight = b.blob(layer, 0, (*channels, *attrs["kernel_shape"]))
    inputs = [x, b.const(weight, f"{layer.name}/weight")]
    if p.bias_term:
        inputs.append(b.const(b.blob(layer, 1, (out,)), f"{layer.name}/bias"))
    b.emit(op_type, inputs, [b.top(layer)], layer, **attrs)


def _pooled(size: int, kernel: int, pad: int, stride: int, ceil: bool) -> int:
    """Caffe's output size: ceil (default) or floor, then the last window must start inside the padded input."""
    span = (size + 2 * pad - kernel) / stride
    out = (math.ceil(span) if ceil else math.floor(span)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pooling(b, layer) -> None:
    """MAX and AVE; Caffe's ceil rounding becomes explicit end padding.

    AVE divides by the window clipped to the padded input (the padding
    counts, the extra ceil area does not): when the last windows reach past
    the padding, the padding is made explicit with a zero ``Pad`` and the
    pooling then excludes the rest (``count_include_pad=0``).
    """
    p = layer.pooling_param
    if p.pool not in (P.PoolingParameter.MAX, P.PoolingParameter.AVE):
        raise b.unsupported(layer, "STOCHASTIC pooling")
    x, shape = _spatial_input(b, layer)
    op = "MaxPool" if p.pool == P.PoolingParameter.MAX else "AveragePool"
    if p.global_pooling:
        b.emit(f"Global{op}", [x], [b.top(layer)], layer)
        return
    kernel = _hw(b, layer, [p.kernel_size] if p.HasField("kernel_size") else [], p.kernel_h, p.kernel_w,
                 p.HasField("kernel_h"), None, "kernel_size")
    pads = _hw(b, layer, [p.pad], p.pad_h, p.pad_w, p.HasField("pad_h") or p.HasField("pad_w"), 0, "pad")
    strides = _hw(b, layer, [p.stride], p.stride_h, p.stride_w, p.HasField("stride_h") or p.HasField("stride_w"), 1,
                  "stride")
    if min(kernel) < 1 or min(strides) < 1:
        raise b.unsupported(layer, "a zero kernel or stride")
    if any(pad >= k for pad, k in zip(pads, kernel)):
        raise b.unsupported(layer, "padding as large as the kernel")
    ceil = p.round_mode == P.PoolingParameter.CEIL
    outs = [_pooled(shape[2 + i], kernel[i], pads[i], strides[i], ceil) for i in range(2)]
    if min(outs) < 1:
        raise b.unsupported(layer, f"a {kernel} window larger than the padded {list(shape[2:])} input")
    ends = [max(0, (outs[i] - 1) * strides[i] + kernel[i] - shape[2 + i] - pads[i]) for i in range(2)]
    attrs: dict[str, object] = {"kernel_shape": kernel, "strides": strides, "pads": [*pads, *ends]}
    if op == "AveragePool" and any(pads):
        if all(end <= pad for end, pad in zip(ends, pads)):  # every window inside the padding: count it all
            attrs["count_include_pad"] = 1
        else:  # the last windows reach past the padding: pad explicitly, count only up to its end
            x = b.emit("Pad", [x, b.int64([0, 0, *pads, 0, 0, *pads], f"{layer.name}/pads")], None, layer,
                       mode="constant")[0]
            ends = [max(0, end - pad) for end, pad in zip(ends, pads)]
            attrs.update(pads=[0, 0, *ends], count_include_pad=0)
    elif op == "AveragePool":
        attrs["count_include_pad"] = 0
    b.emit(op, [x], [b.top(layer)], layer, **attrs)


def inner_product(b, layer) -> None:
    """Flatten from ``axis``, then Gemm with weights [N, K] (``transpose: true``: [K, N]); shape dims[:axis] + [N]."""
    p = layer.inner_product_param
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    axis = p.axis + len(shape) if p.axis < 0 else p.axis
    if not 0 <= axis < len(shape):
        raise b.unsupported(layer, f"axis {p.axis} of a rank-{len(shape)} input")
    k, n = numel(shape[axis:]), int(p.num_output)
    weight = b.blob(layer, 0, (k, n) if p.transpose else (n, k))
    inputs = [b.emit("Flatten", [x], None, layer, axis=axis)[0], b.const(weight, f"{layer.name}/weight")]
    if p.bias_term:
        inputs.append(b.const(b.blob(layer, 1, (n,)), f"{layer.name}/bias"))
    if axis == 1:
        b.emit("Gemm", inputs, [b.top(layer)], layer, transB=0 if p.transpose else 1)
        return
    flat = b.emit("Gemm", inputs, None, layer, transB=0 if p.transpose else 1)[0]
    b.emit("Reshape", [flat, b.int64([*shape[:axis], n], f"{layer.name}/shape")], [b.top(layer)], layer)


def batch_norm(b, layer) -> None:
    """Blobs mean, variance and a moving-average factor that both are divided by (0 gives zeros)."""
    x = b.bottom(layer)
    channels = b.shape(layer, x)[1]
    mean, var = b.blob(layer, 0, (channels,)), b.blob(layer, 1, (channels,))
    factor = float(b.blob(layer, 2, (1,))[0]) if b.has_blob(layer, 2) else 1.0
    factor = 0.0 if factor == 0 else 1.0 / factor
    consts = [np.ones(channels, np.float32), np.zeros(channels, np.float32), mean * factor, var * factor]
    names = [b.const(c.astype(np.float32), f"{layer.name}/{n}") for c, n in
             zip(consts, ("scale", "bias", "mean", "var"))]
    b.emit("BatchNormalization", [x, *names], [b.top(layer)], layer, epsilon=float(layer.batch_norm_param.eps))


def _axes_shape(b, layer, shape, axis: int, num_axes: int) -> tuple[int, tuple]:
    """``(axis, covered dims)`` of a Scale/Bias parameter over an input of ``shape``."""
    axis = axis + len(shape) if axis < 0 else axis
    end = len(shape) if num_axes == -1 else axis + num_axes
    if not 0 <= axis <= end <= len(shape):
        raise b.unsupported(layer, f"axis {axis} and num_axes {num_axes} of a rank-{len(shape)} input")
    return axis, tuple(shape[axis:end])


def _broadcast(b, layer, name: str, covered: tuple, axis: int, rank: int, base: str, array=None) -> str:
    """A parameter over dims ``covered`` (from ``axis``) as a value that broadcasts against the input."""
    target = (*covered, *([1] * (rank - axis - len(covered))))
    if array is not None:
        return b.const(array.reshape(target), f"{layer.name}/{base}")
    return b.emit("Reshape", [name, b.int64(target, f"{layer.name}/{base}_shape")], None, layer)[0]


def _operand(b, layer, p, shape: tuple, base: str) -> tuple[str, int, tuple, int]:
    """Scale's and Bias's operand as a value that broadcasts against the input (of ``shape``): bottom 1 when there
    is one (its dims cover the input from ``axis``), else weight blob 0 (over ``num_axes`` dims from ``axis``).
    Returns ``(value, axis, covered dims, index of the next weight blob)``."""
    if len(layer.bottom) > 1:
        other = b.bottom(layer, 1)
        axis, covered = _axes_shape(b, layer, shape, p.axis, len(b.shape(layer, other)))
        return _broadcast(b, layer, other, covered, axis, len(shape), base), axis, covered, 0
    axis, covered = _axes_shape(b, layer, shape, p.axis, p.num_axes)
    return _broadcast(b, layer, "", covered, axis, len(shape), base, b.blob(layer, 0, covered)), axis, covered, 1


def scale(b, layer) -> None:
    """``x * scale (+ bias)``; the scale is blob 0, or bottom 1 (its dims cover the input from ``axis``)."""
    p = layer.scale_param
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    factor, axis, covered, bias_blob = _operand(b, layer, p, shape, "scale")
    if not p.bias_term:
        b.emit("Mul", [x, factor], [b.top(layer)], layer)
        return
    product = b.emit("Mul", [x, factor], None, layer)[0]
    bias = _broadcast(b, layer, "", covered, axis, len(shape), "bias", b.blob(layer, bias_blob, covered))
    b.emit("Add", [product, bias], [b.top(layer)], layer)


def bias(b, layer) -> None:
    """``x + bias``; the bias is blob 0 or bottom 1."""
    x = b.bottom(layer)
    term = _operand(b, layer, layer.bias_param, b.shape(layer, x), "bias")[0]
    b.emit("Add", [x, term], [b.top(layer)], layer)


def eltwise(b, layer) -> None:
    """SUM (with per-bottom ``coeff``), PROD or MAX over two or more bottoms."""
    p = layer.eltwise_param
    xs = b.bottoms(layer)
    if len(xs) < 2:
        raise b.unsupported(layer, "fewer than two bottoms")
    if p.coeff and (p.operation != P.EltwiseParameter.SUM or len(p.coeff) != len(xs)):
        raise b.unsupported(layer, f"{len(p.coeff)} coefficients for {len(xs)} bottoms of a non-SUM or SUM")
    op = {P.EltwiseParameter.SUM: "Add", P.EltwiseParameter.PROD: "Mul", P.EltwiseParameter.MAX: "Max"}[p.operation]
    if p.coeff:
        xs = [x if c == 1 else b.emit("Mul", [x, b.const(np.float32(c), f"{layer.name}/coeff")], None, layer)[0]
              for x, c in zip(xs, p.coeff)]
    acc = xs[0]
    for i, x in enumerate(xs[1:], start=2):
        acc = b.emit(op, [acc, x], [b.top(layer)] if i == len(xs) else None, layer)[0]


def concat(b, layer) -> None:
    p = layer.concat_param
    axis = int(p.concat_dim) if p.HasField("concat_dim") else int(p.axis)
    b.emit("Concat", b.bottoms(layer), [b.top(layer)], layer, axis=axis)


def softmax(b, layer) -> None:
    b.emit("Softmax", [b.bottom(layer)], [b.top(layer)], layer, axis=int(layer.softmax_param.axis))


def lrn(b, layer) -> None:
    """ACROSS_CHANNELS is ONNX's LRN; WITHIN_CHANNEL is ``x * (1 + alpha * avg(x^2 over size x size))^-beta``."""
    p = layer.lrn_param
    x = b.bottom(layer)
    if p.norm_region == P.LRNParameter.ACROSS_CHANNELS:
        b.emit("LRN", [x], [b.top(layer)], layer, size=int(p.local_size), alpha=float(p.alpha), beta=float(p.beta),
               bias=float(p.k))
        return
    size = int(p.local_size)
    if size % 2 == 0:
        raise b.unsupported(layer, "an even local_size")
    pad = (size - 1) // 2
    square = b.emit("Mul", [x, x], None, layer)[0]
    mean = b.emit("AveragePool", [square], None, layer, kernel_shape=[size, size], pads=[pad] * 4,
                  count_include_pad=1)[0]
    scaled = b.emit("Mul", [mean, b.const(np.float32(p.alpha), f"{layer.name}/alpha")], None, layer)[0]
    shifted = b.emit("Add", [scaled, b.const(np.float32(1.0), f"{layer.name}/one")], None, layer)[0]
    factor = b.emit("Pow", [shifted, b.const(np.float32(-p.beta), f"{layer.name}/beta")], None, layer)[0]
    b.emit("Mul", [x, factor], [b.top(layer)], layer)


def passthrough(b, layer) -> None:
    """Dropout (scaled at training time, so the identity at inference) and Split (one blob to many tops)."""
    x = b.bottom(layer)
    for i in range(len(layer.top)):
        b.emit("Identity", [x], [b.top(layer, i)], layer)


def flatten(b, layer) -> None:
    """Axes ``axis``..``end_axis`` become one."""
    p = layer.flatten_param
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    rank = len(shape)
    start = p.axis + rank if p.axis < 0 else p.axis
    end = p.end_axis + rank if p.end_axis < 0 else p.end_axis
    if not 0 <= start <= end < rank:
        raise b.unsupported(layer, f"axis {p.axis} to {p.end_axis} of a rank-{rank} input")
    target = [*shape[:start], numel(shape[start:end + 1]), *shape[end + 1:]]
    b.emit("Reshape", [x, b.int64(target, f"{layer.name}/shape")], [b.top(layer)], layer)


def reshape(b, layer) -> None:
    """Caffe's rules: ``0`` copies the input dim, one ``-1`` is inferred, ``axis``/``num_axes`` pick the span."""
    p = layer.reshape_param
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    rank = len(shape)
    start = p.axis + rank + 1 if p.axis < 0 else p.axis
    end = rank if p.num_axes == -1 else start + p.num_axes
    if not 0 <= start <= end <= rank:
        raise b.unsupported(layer, f"axis {p.axis} and num_axes {p.num_axes} of a rank-{rank} input")
    dims = [int(d) for d in p.shape.dim]
    middle = [shape[start + i] if d == 0 else d for i, d in enumerate(dims)]
    if any(d == 0 for d in dims[end - start:]) or any(d < -1 for d in middle) or middle.count(-1) > 1:
        raise b.unsupported(layer, f"reshape dims {dims}")
    target = [*shape[:start], *middle, *shape[end:]]
    total = numel(shape)
    if -1 in target:
        known = numel([d for d in target if d != -1])
        if known == 0 or total % known:
            raise b.unsupported(layer, f"reshape dims {dims} of a {list(shape)} input")
        target[target.index(-1)] = total // known
    if numel(target) != total:
        raise b.unsupported(layer, f"reshape dims {dims} of a {list(shape)} input")
    b.emit("Reshape", [x, b.int64(target, f"{layer.name}/shape")], [b.top(layer)], layer)


def slice_(b, layer) -> None:
    """Split along ``axis`` at ``slice_point``s (none: into equal parts, one per top)."""
    p = layer.slice_param
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    axis = int(p.slice_dim) if p.HasField("slice_dim") else int(p.axis)
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis < len(shape):
        raise b.unsupported(layer, f"axis {axis} of a rank-{len(shape)} input")
    n, dim = len(layer.top), shape[axis]
    if p.slice_point:
        points = [0, *[int(v) for v in p.slice_point], dim]
        if len(points) != n + 1 or any(b2 <= a for a, b2 in zip(points, points[1:])):
            raise b.unsupported(layer, f"slice points {list(p.slice_point)} for {n} tops over {dim}")
        sizes = [b2 - a for a, b2 in zip(points, points[1:])]
    else:
        if n == 0 or dim % n:
            raise b.unsupported(layer, f"{dim} split into {n} equal parts")
        sizes = [dim // n] * n
    b.emit("Split", [x, b.int64(sizes, f"{layer.name}/sizes")], b.tops(layer), layer, axis=axis)


def permute(b, layer) -> None:
    """SSD Caffe's Permute: ``order`` first, then the axes it leaves out in their order."""
    x = b.bottom(layer)
    rank = len(b.shape(layer, x))
    order = [int(v) for v in layer.permute_param.order]
    if len(set(order)) != len(order) or any(not 0 <= v < rank for v in order):
        raise b.unsupported(layer, f"order {order} of a rank-{rank} input")
    perm = order + [i for i in range(rank) if i not in order]
    b.emit("Transpose", [x], [b.top(layer)], layer, perm=perm)


def power(b, layer) -> None:
    """``(shift + scale * x) ^ power``; the steps that change nothing are left out."""
    p = layer.power_param
    y = b.bottom(layer)
    steps = [("Mul", p.scale, 1.0, "scale"), ("Add", p.shift, 0.0, "shift"), ("Pow", p.power, 1.0, "power")]
    steps = [s for s in steps if s[1] != s[2]]
    if not steps:
        b.emit("Identity", [y], [b.top(layer)], layer)
    for i, (op, value, _, name) in enumerate(steps):
        out = [b.top(layer)] if i == len(steps) - 1 else None
        y = b.emit(op, [y, b.const(np.float32(value), f"{layer.name}/{name}")], out, layer)[0]


def relu(b, layer) -> None:
    slope = float(layer.relu_param.negative_slope)
    if slope:
        b.emit("LeakyRelu", [b.bottom(layer)], [b.top(layer)], layer, alpha=slope)
    else:
        b.emit("Relu", [b.bottom(layer)], [b.top(layer)], layer)


def prelu(b, layer) -> None:
    """One slope per channel (axis 1), or one for all with ``channel_shared``."""
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    if layer.prelu_param.channel_shared:
        slope = b.blob(layer, 0, (1,))
    else:
        if len(shape) < 2:
            raise b.unsupported(layer, "a rank-1 input")
        slope = b.blob(layer, 0, (shape[1],)).reshape(shape[1], *([1] * (len(shape) - 2)))
    b.emit("PRelu", [x, b.const(slope, f"{layer.name}/slope")], [b.top(layer)], layer)


def elu(b, layer) -> None:
    b.emit("Elu", [b.bottom(layer)], [b.top(layer)], layer, alpha=float(layer.elu_param.alpha))


def crop(b, layer) -> None:
    """Bottom 0 cut to bottom 1's dims from ``axis`` on, starting at ``offset`` (one for all axes, or one each)."""
    p = layer.crop_param
    x, reference = b.bottom(layer, 0), b.bottom(layer, 1)
    shape, target = b.shape(layer, x), b.shape(layer, reference)
    axis = p.axis + len(shape) if p.axis < 0 else p.axis
    axes = list(range(axis, len(shape)))
    if len(target) != len(shape) or not axes:
        raise b.unsupported(layer, f"axis {p.axis} of rank-{len(shape)} and rank-{len(target)} bottoms")
    offsets = [int(v) for v in p.offset] or [0]
    if len(offsets) == 1:
        offsets *= len(axes)
    if len(offsets) != len(axes) or any(o + target[a] > shape[a] for o, a in zip(offsets, axes)):
        raise b.unsupported(layer, f"offsets {list(p.offset)} of a {list(shape)} bottom cut to {list(target)}")
    ends = [o + target[a] for o, a in zip(offsets, axes)]
    b.emit("Slice", [x, b.int64(offsets, f"{layer.name}/starts"), b.int64(ends, f"{layer.name}/ends"),
                     b.int64(axes, f"{layer.name}/axes")], [b.top(layer)], layer)


def _affine(b, layer, x: str, scale_: float, shift: float) -> str:
    """``shift + scale * x`` (steps that change nothing left out)."""
    if scale_ != 1:
        x = b.emit("Mul", [x, b.const(np.float32(scale_), f"{layer.name}/scale")], None, layer)[0]
    if shift != 0:
        x = b.emit("Add", [x, b.const(np.float32(shift), f"{layer.name}/shift")], None, layer)[0]
    return x


def exp(b, layer) -> None:
    """``base ^ (shift + scale * x)``; base -1 is e."""
    p = layer.exp_param
    if p.base != -1 and p.base <= 0:
        raise b.unsupported(layer, f"base {p.base}")
    factor = 1.0 if p.base == -1 else math.log(p.base)
    inner = _affine(b, layer, b.bottom(layer), p.scale * factor, p.shift * factor)
    b.emit("Exp", [inner], [b.top(layer)], layer)


def log(b, layer) -> None:
    """``log_base(shift + scale * x)``; base -1 is e."""
    p = layer.log_param
    if p.base != -1 and (p.base <= 0 or p.base == 1):
        raise b.unsupported(layer, f"base {p.base}")
    inner = _affine(b, layer, b.bottom(layer), p.scale, p.shift)
    if p.base == -1:
        b.emit("Log", [inner], [b.top(layer)], layer)
        return
    natural = b.emit("Log", [inner], None, layer)[0]
    b.emit("Mul", [natural, b.const(np.float32(1.0 / math.log(p.base)), f"{layer.name}/base")], [b.top(layer)], layer)


def threshold(b, layer) -> None:
    """1 where ``x > threshold``, else 0."""
    above = b.emit("Greater", [b.bottom(layer), b.const(np.float32(layer.threshold_param.threshold),
                                                         f"{layer.name}/threshold")], None, layer)[0]
    b.emit("Cast", [above], [b.top(layer)], layer, to=1)


def tile(b, layer) -> None:
    p = layer.tile_param
    x = b.bottom(layer)
    rank = len(b.shape(layer, x))
    axis = p.axis + rank if p.axis < 0 else p.axis
    if not 0 <= axis < rank or p.tiles < 1:
        raise b.unsupported(layer, f"axis {p.axis} and tiles {p.tiles} of a rank-{rank} input")
    repeats = [1] * rank
    repeats[axis] = int(p.tiles)
    b.emit("Tile", [x, b.int64(repeats, f"{layer.name}/repeats")], [b.top(layer)], layer)


_REDUCTIONS = {P.ReductionParameter.SUM: "ReduceSum", P.ReductionParameter.ASUM: "ReduceL1",
               P.ReductionParameter.SUMSQ: "ReduceSumSquare", P.ReductionParameter.MEAN: "ReduceMean"}


def reduction(b, layer) -> None:
    """Every axis from ``axis`` on reduced away (SUM, ASUM, SUMSQ, MEAN), times ``coeff``."""
    p = layer.reduction_param
    x = b.bottom(layer)
    rank = len(b.shape(layer, x))
    axis = p.axis + rank if p.axis < 0 else p.axis
    if not 0 <= axis < rank:
        raise b.unsupported(layer, f"axis {p.axis} of a rank-{rank} input")
    axes = b.int64(list(range(axis, rank)), f"{layer.name}/axes")
    if p.coeff == 1:
        b.emit(_REDUCTIONS[p.operation], [x, axes], [b.top(layer)], layer, keepdims=0)
        return
    reduced = b.emit(_REDUCTIONS[p.operation], [x, axes], None, layer, keepdims=0)[0]
    b.emit("Mul", [reduced, b.const(np.float32(p.coeff), f"{layer.name}/coeff")], [b.top(layer)], layer)


def mvn(b, layer) -> None:
    """``(x - mean) / (std + eps)`` over H, W (and C with ``across_channels``); without variance, ``x - mean``."""
    p = layer.mvn_param
    x = b.bottom(layer)
    rank = len(b.shape(layer, x))
    if rank < 2:
        raise b.unsupported(layer, f"a rank-{rank} input")
    axes = b.int64(list(range(1 if p.across_channels else 2, rank)), f"{layer.name}/axes")
    mean = b.emit("ReduceMean", [x, axes], None, layer, keepdims=1)[0]
    if not p.normalize_variance:
        b.emit("Sub", [x, mean], [b.top(layer)], layer)
        return
    centred = b.emit("Sub", [x, mean], None, layer)[0]
    variance = b.emit("ReduceMean", [b.emit("Mul", [centred, centred], None, layer)[0], axes], None, layer,
                      keepdims=1)[0]
    std = b.emit("Add", [b.emit("Sqrt", [variance], None, layer)[0], b.const(np.float32(p.eps), f"{layer.name}/eps")],
                 None, layer)[0]
    b.emit("Div", [centred, std], [b.top(layer)], layer)


def argmax(b, layer) -> None:
    """``top_k`` 1: the index (as float, as Caffe) along ``axis``, or over each sample's flattened values."""
    p = layer.argmax_param
    if p.top_k != 1:
        raise b.unsupported(layer, f"top_k {p.top_k}")
    x = b.bottom(layer)
    shape = b.shape(layer, x)
    if p.HasField("axis"):
        axis = p.axis + len(shape) if p.axis < 0 else p.axis
        if p.out_max_val:
            b.emit("ReduceMax", [x, b.int64([axis], f"{layer.name}/axes")], [b.top(layer)], layer, keepdims=1)
            return
        index = b.emit("ArgMax", [x], None, layer, axis=axis, keepdims=1)[0]
        b.emit("Cast", [index], [b.top(layer)], layer, to=1)
        return
    if p.out_max_val:
        raise b.unsupported(layer, "out_max_val without an axis")
    flat = b.emit("Flatten", [x], None, layer, axis=1)[0]
    index = b.emit("ArgMax", [flat], None, layer, axis=1, keepdims=1)[0]
    shaped = b.emit("Reshape", [index, b.int64([shape[0], 1, 1], f"{layer.name}/shape")], None, layer)[0]
    b.emit("Cast", [shaped], [b.top(layer)], layer, to=1)


def _unary(op_type: str):
    def read(b, layer) -> None:
        b.emit(op_type, [b.bottom(layer)], [b.top(layer)], layer)
    read.__doc__ = f"ONNX {op_type}."
    return read


LAYERS = {
    "Convolution": convolution, "Deconvolution": deconvolution, "Pooling": pooling, "InnerProduct": inner_product,
    "BatchNorm": batch_norm, "Scale": scale, "Bias": bias, "Eltwise": eltwise, "Concat": concat,
    "Softmax": softmax, "LRN": lrn, "Dropout": passthrough, "Split": passthrough, "Flatten": flatten,
    "Reshape": reshape, "Slice": slice_, "Permute": permute, "Power": power,
    "ReLU": relu, "PReLU": prelu, "ELU": elu, "Sigmoid": _unary("Sigmoid"), "TanH": _unary("Tanh"),
    "AbsVal": _unary("Abs"), "BNLL": _unary("Softplus"), "Crop": crop, "Exp": exp, "Log": log,
    "Threshold": threshold, "Tile": tile, "Reduction": reduction, "MVN": mvn, "ArgMax": argmax,
}

#: what a layer type does not read (the coverage table's notes)
LIMITS = {
    "Convolution": "2-D (N, C, H, W) with axis 1; group and dilation read",
    "Deconvolution": "2-D with axis 1; group and dilation read",
    "Pooling": "MAX and AVE (incl. global, pad, round_mode CEIL/FLOOR); STOCHASTIC refused",
    "InnerProduct": "any axis; transpose read",
    "BatchNorm": "global statistics (inference); the moving-average factor divides them",
    "Scale": "blob or second bottom; bias_term read",
    "Eltwise": "SUM (coeff), PROD, MAX",
    "LRN": "ACROSS_CHANNELS and WITHIN_CHANNEL (odd local_size)",
    "Dropout": "identity at inference",
    "Split": "identity to each top",
    "Permute": "SSD Caffe's layer",
    "ArgMax": "top_k 1; out_max_val with an axis only",
    "Crop": "offsets one for all or one per cropped axis",
    "Reduction": "SUM, ASUM, SUMSQ, MEAN over the axes from axis on",
    "Data": "shape from --input-shape (input_shapes=); label tops left out",
}
