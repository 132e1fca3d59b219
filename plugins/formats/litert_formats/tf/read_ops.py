"""TensorFlow ops -> IR operators (ONNX semantics), one function per op; :data:`READERS` is the registry.

Node attributes arrive decoded in ``op.options``; many ops share TFLite's
readers (:mod:`litert_formats.tflite.read_ops`), whose builder protocol
:class:`~.reader.TfBuilder` follows: elementwise ops, reductions (``keep_dims``,
axes as input 1), StridedSlice (the same masks), Reshape, Transpose, Tile,
ExpandDims, Pack, Pad.  Only ``data_format`` NHWC is read.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from litert.errors import ModelLoadError
from litert.ir import DType

from ..tflite import read_ops as tfl
from ..transposes import swap_last_axes
from .reader import DTYPES


def _nhwc(b, op) -> None:
    fmt = op.options.get("data_format", "NHWC")
    if fmt not in ("NHWC", "NWC", "N...C"):
        raise b.unsupported(op, f"data_format {fmt}")


def _window(b, op, kernel_hw, dilations=(1, 1)) -> dict:
    strides = op.options.get("strides") or [1, 1, 1, 1]
    attrs: dict[str, Any] = {"kernel_shape": [int(k) for k in kernel_hw], "strides": [int(strides[1]), int(strides[2])]}
    padding = op.options.get("padding", "VALID")
    if padding == "SAME":
        attrs["auto_pad"] = "SAME_UPPER"  # TensorFlow puts the odd pixel at the end, as SAME_UPPER
    elif padding == "EXPLICIT":
        p = [int(v) for v in op.options.get("explicit_paddings", [])]
        if len(p) != 8:
            raise b.unsupported(op, "explicit paddings other than 4x2")
        attrs["pads"] = [p[2], p[4], p[3], p[5]]
    elif padding != "VALID":
        raise b.unsupported(op, f"padding {padding}")
    return attrs


def _dilations(op) -> list[int]:
    d = op.options.get("dilations") or [1, 1, 1, 1]
    return [int(d[1]), int(d[2])]


def conv2d(b, op) -> None:
    """Filter [H, W, I, O] -> [O, I, H, W]; groups when the data has more channels than I."""
    _nhwc(b, op)
    w = b.const_value(op, 1)
    if w is None or w.ndim != 4:
        raise b.unsupported(op, "a computed or non-4-D filter")
    dil = _dilations(op)
    attrs = _window(b, op, w.shape[:2], dil)
    attrs["dilations"] = dil
    channels = b.graph.values[b.inp(op, 0)].shape
    if channels is not None and len(channels) == 4 and isinstance(channels[3], int) and channels[3] != w.shape[2]:
        attrs["group"] = channels[3] // w.shape[2]
    inputs = [b.inp(op, 0), b.permuted(b.inp(op, 1), (3, 2, 0, 1))]
    b.channels_first(b.node("Conv", inputs, [b.out(op)], op, **attrs))


def depthwise_conv2d(b, op) -> None:
    """Filter [H, W, C, M] -> [C*M, 1, H, W] with C groups."""
    _nhwc(b, op)
    w = b.const_value(op, 1)
    if w is None or w.ndim != 4:
        raise b.unsupported(op, "a computed or non-4-D filter")
    h, wd, c, m = w.shape
    dil = _dilations(op)
    attrs = _window(b, op, (h, wd), dil)
    attrs.update(dilations=dil, group=int(c))
    weight = b.const(np.ascontiguousarray(w.reshape(h, wd, 1, c * m).transpose(3, 2, 0, 1)), f"{op.index}_w")
    b.channels_first(b.node("Conv", [b.inp(op, 0), weight], [b.out(op)], op, **attrs))


def conv2d_backprop_input(b, op) -> None:
    """A transposed convolution: inputs (output size, filter [H, W, O, I], data)."""
    _nhwc(b, op)
    size, w = b.const_value(op, 0), b.const_value(op, 1)
    if size is None or w is None or w.ndim != 4:
        raise b.unsupported(op, "a computed output size or filter")
    strides = op.options.get("strides") or [1, 1, 1, 1]
    s = [int(strides[1]), int(strides[2])]
    same = op.options.get("padding", "VALID") == "SAME"
    pads, extra = [0, 0, 0, 0], [0, 0]
    for axis in range(2):
        out, k = int(size[1 + axis]), int(w.shape[axis])
        inp = -(-out // s[axis]) if same else -(-(out - k + 1) // s[axis])
        full = (inp - 1) * s[axis] + k
        total = max(0, full - out)
        pads[axis], pads[axis + 2] = total // 2, total - total // 2
        extra[axis] = out - (full - total)
    attrs = {"kernel_shape": [int(w.shape[0]), int(w.shape[1])], "strides": s, "pads": pads}
    if any(extra):
        attrs["output_padding"] = extra
    weight = b.permuted(b.inp(op, 1), (3, 2, 0, 1))
    b.channels_first(b.node("ConvTranspose", [b.inp(op, 2), weight], [b.out(op)], op, **attrs))


def _pool(op_type: str):
    def read(b, op) -> None:
        _nhwc(b, op)
        ksize = op.options.get("ksize") or [1, 1, 1, 1]
        attrs = _window(b, op, (ksize[1], ksize[2]))
        b.channels_first(b.node(op_type, [b.inp(op, 0)], [b.out(op)], op, **attrs))
    return read


def bias_add(b, op) -> None:
    _nhwc(b, op)
    b.emit("Add", [b.inp(op, 0), b.inp(op, 1)], [b.out(op)], op)


def matmul(b, op) -> None:
    x, y = b.inp(op, 0), b.inp(op, 1)
    if op.options.get("transpose_a"):
        x = b.permuted(x, (1, 0))
    if op.options.get("transpose_b"):
        y = b.permuted(y, (1, 0))
    b.emit("MatMul", [x, y], [b.out(op)], op)


def batch_matmul(b, op) -> None:
    op.options = {"adj_x": op.options.get("adj_x"), "adj_y": op.options.get("adj_y")}
    x, y = b.inp(op, 0), b.inp(op, 1)
    for flag, i in (("adj_x", 0), ("adj_y", 1)):
        if op.options[flag]:
            name = x if i == 0 else y
            moved = b.emit("Transpose", [name], None, op, perm=_swap_last(b, name, op))[0]
            x, y = (moved, y) if i == 0 else (x, moved)
    b.emit("MatMul", [x, y], [b.out(op)], op)


def _swap_last(b, name, op) -> list[int]:
    return swap_last_axes(len(_shape(b, op, name, "an adjoint matmul operand of unknown rank")))


def einsum(b, op) -> None:
    b.emit("Einsum", [b.inp(op, i) for i in range(len(op.inputs))], [b.out(op)], op,
           equation=str(op.options.get("equation", "")))


def erfc(b, op) -> None:
    erf = b.emit("Erf", [b.inp(op, 0)], None, op)[0]
    b.emit("Sub", [b.const(np.float32(1.0), "one"), erf], [b.out(op)], op)


def concat_v2(b, op) -> None:
    axis = b.const_value(op, len(op.inputs) - 1)
    if axis is None:
        raise b.unsupported(op, "a computed axis")
    b.emit("Concat", [b.inp(op, i) for i in range(len(op.inputs) - 1)], [b.out(op)], op,
           axis=int(np.asarray(axis).reshape(-1)[0]))


def squeeze(b, op) -> None:
    """No ``squeeze_dims``: every size-1 dim, as ONNX's Squeeze without axes."""
    dims = op.options.get("squeeze_dims") or []
    axes = [b.int64(dims, "squeeze_axes")] if dims else []
    b.emit("Squeeze", [b.inp(op, 0), *axes], [b.out(op)], op)


#: most parts a Split/Unpack may declare: a GraphDef states the count as a bare integer (a fuzzed file said 2^62
#: and the reader spun naming the outputs); no model splits an axis into more
MAX_PARTS = 1 << 16


def _part_count(b, op, key: str) -> int:
    n = int(op.options.get(key, 1))
    if not 1 <= n <= MAX_PARTS:
        raise ModelLoadError(f"node {op.index!r} ({op.op_name}): {key} = {n}, litert reads 1 to {MAX_PARTS} parts")
    return n


def split(b, op) -> None:
    axis = b.const_value(op, 0)
    if axis is None:
        raise b.unsupported(op, "a computed axis")
    n = _part_count(b, op, "num_split")
    outs = [b.out(op, i) for i in range(n)]
    b.emit("Split", [b.inp(op, 1)], outs, op, axis=int(np.asarray(axis).reshape(-1)[0]), num_outputs=n)


def unpack(b, op) -> None:
    tfl.unstack(b, op, int(op.options.get("axis", 0)), _part_count(b, op, "num"))


def cast(b, op) -> None:
    dtype = DTYPES.get(op.options.get("DstT"))
    if dtype is None:
        raise b.unsupported(op, f"a cast to TensorFlow DataType {op.options.get('DstT')}")
    b.emit("Cast", [b.inp(op, 0)], [b.out(op)], op, to=dtype.value)


def fused_batch_norm(b, op) -> None:
    """Inference form (is_training false): ``(x - mean) / sqrt(var + eps) * scale + offset`` on the channels."""
    if op.options.get("is_training"):
        raise b.unsupported(op, "training-mode batch norm")
    _nhwc(b, op)
    b.channels_first(b.node("BatchNormalization", [b.inp(op, i) for i in (0, 1, 2, 3, 4)], [b.out(op)], op,
                            epsilon=float(op.options.get("epsilon", 1e-3))))


def _rank(b, op, name: str) -> int:
    return len(_shape(b, op, name))


def _shape(b, op, name: str, unknown: str = "an input of unknown rank") -> tuple:
    """The shape of value ``name`` (by shape inference when not known yet); ``unknown`` says what lacks one."""
    value = b.shaped_value(name)
    if value is None or value.shape is None:
        raise b.unsupported(op, unknown)
    return value.shape


def strided_slice(b, op) -> None:
    """TFLite's reader after spelling an ellipsis out as full-range axes (the rank comes from shape inference)."""
    o = op.options
    ellipsis = int(o.get("ellipsis_mask", 0))
    if ellipsis and not o.get("new_axis_mask"):
        begin, end, strides = (b.const_value(op, i) for i in (1, 2, 3))
        if begin is None or end is None or strides is None:
            raise b.unsupported(op, "computed begin/end/strides")
        at = (ellipsis & -ellipsis).bit_length() - 1
        n = len(begin)
        fill = _rank(b, op, b.inp(op, 0)) - (n - 1)
        if fill < 0:
            raise b.unsupported(op, "an ellipsis past the input's rank")

        def spread(values, pad):
            return list(values[:at]) + [pad] * fill + list(values[at + 1:])

        def spread_mask(mask, pad_bit):
            bits = [(int(mask) >> i) & 1 for i in range(n)]
            out = spread(bits, pad_bit)
            return sum(bit << i for i, bit in enumerate(out))

        options = {"begin_mask": spread_mask(o.get("begin_mask", 0), 1), "end_mask": spread_mask(o.get("end_mask", 0), 1),
                   "shrink_axis_mask": spread_mask(o.get("shrink_axis_mask", 0), 0)}
        inputs = [b.inp(op, 0), b.int64(spread(begin, 0), "ss_begin"), b.int64(spread(end, 0), "ss_end"),
                  b.int64(spread(strides, 1), "ss_strides")]
        op = type(op)(op.index, op.op_name, inputs, options, op.outputs)
    tfl.strided_slice(b, op)


def split_v(b, op) -> None:
    sizes, axis = b.const_value(op, 1), b.const_value(op, 2)
    if sizes is None or axis is None:
        raise b.unsupported(op, "computed sizes or axis")
    sizes, axis = [int(v) for v in sizes], int(np.asarray(axis).reshape(-1)[0])
    if -1 in sizes:  # the rest of the axis
        dim = _shape(b, op, b.inp(op, 0))[axis]
        if not isinstance(dim, int):
            raise b.unsupported(op, "a -1 size along a dynamic axis")
        sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
    outs = [b.out(op, i) for i in range(len(sizes))]
    b.emit("Split", [b.inp(op, 0), b.int64(sizes, "split_sizes")], outs, op, axis=axis)


def gather_v2(b, op) -> None:
    axis = b.const_value(op, 2)
    if axis is None or int(op.options.get("batch_dims", 0)):
        raise b.unsupported(op, "a computed axis or batch_dims")
    b.emit("Gather", [b.inp(op, 0), b.inp(op, 1)], [b.out(op)], op, axis=int(np.asarray(axis).reshape(-1)[0]))


def arg(op_type: str):
    return tfl.arg_reader(op_type, lambda b, op: DTYPES.get(op.options.get("output_type", 9), DType.INT64))


def lrn(b, op) -> None:
    """TensorFlow's LRN sums squares over ``2r+1`` channels with ``alpha`` per element (ONNX divides by size)."""
    o = op.options
    size = 2 * int(o.get("depth_radius", 5)) + 1
    b.channels_first(b.node("LRN", [b.inp(op, 0)], [b.out(op)], op, size=size, alpha=float(o.get("alpha", 1.0)) * size,
                            beta=float(o.get("beta", 0.5)), bias=float(o.get("bias", 1.0))))


def mirror_pad(b, op) -> None:
    if op.options.get("mode", "REFLECT") != "REFLECT":
        raise b.unsupported(op, f"MirrorPad mode {op.options.get('mode')}")
    tfl._pad("reflect")(b, type(op)(op.index, op.op_name, op.inputs, {}, op.outputs))


def depth_space(op_type: str):
    def read(b, op) -> None:
        _nhwc(b, op)
        tfl._depth_space(op_type)(b, op)
    return read


def reshape(b, op) -> None:
    b.emit("Reshape", [b.inp(op, 0), b.int64_input(op, 1)], [b.out(op)], op)


def shape(b, op) -> None:
    """TensorFlow's Shape is int32 unless ``out_type`` says otherwise."""
    dtype = DTYPES.get(op.options.get("out_type", 3), DType.INT32)
    b.emit("Cast", [b.emit("Shape", [b.inp(op, 0)], None, op)[0]], [b.out(op)], op, to=dtype.value)


READERS = {
    "Conv2D": conv2d, "DepthwiseConv2dNative": depthwise_conv2d, "Conv2DBackpropInput": conv2d_backprop_input,
    "MaxPool": _pool("MaxPool"), "AvgPool": _pool("AveragePool"), "BiasAdd": bias_add,
    "FusedBatchNorm": fused_batch_norm, "FusedBatchNormV3": fused_batch_norm,
    "MatMul": matmul, "BatchMatMul": batch_matmul, "BatchMatMulV2": batch_matmul, "BatchMatMulV3": batch_matmul,
    "Einsum": einsum,
    "Add": tfl._binary("Add"), "AddV2": tfl._binary("Add"), "Sub": tfl._binary("Sub"), "Mul": tfl._binary("Mul"),
    "RealDiv": tfl._binary("Div"), "Maximum": tfl._binary("Max"), "Minimum": tfl._binary("Min"),
    "Pow": tfl._binary("Pow"), "SquaredDifference": tfl.squared_difference, "AddN": tfl.add_n,
    "Greater": tfl._binary("Greater"), "Less": tfl._binary("Less"), "Equal": tfl._binary("Equal"),
    "SelectV2": tfl.select,
    "Relu": tfl._unary("Relu"), "Relu6": tfl._clip_op(0.0, 6.0), "Elu": tfl._unary("Elu"),
    "LeakyRelu": tfl.leaky_relu, "Sigmoid": tfl._unary("Sigmoid"), "Tanh": tfl._unary("Tanh"),
    "Exp": tfl._unary("Exp"), "Log": tfl._unary("Log"), "Sqrt": tfl._unary("Sqrt"), "Rsqrt": tfl.rsqrt,
    "Neg": tfl._unary("Neg"), "Abs": tfl._unary("Abs"), "Square": tfl.square, "Erf": tfl._unary("Erf"),
    "Erfc": erfc, "Floor": tfl._unary("Floor"), "Ceil": tfl._unary("Ceil"), "Round": tfl._unary("Round"),
    "Sin": tfl._unary("Sin"), "Cos": tfl._unary("Cos"), "Sign": tfl._unary("Sign"),
    "FloorDiv": tfl._then("Div", "Floor"), "FloorMod": tfl._binary("Mod"), "GreaterEqual": tfl._binary("GreaterOrEqual"),
    "LessEqual": tfl._binary("LessOrEqual"), "NotEqual": tfl._then("Equal", "Not"), "LogicalAnd": tfl._binary("And"),
    "LogicalOr": tfl._binary("Or"), "LogicalNot": tfl._unary("Not"), "Select": tfl.select,
    "Softmax": tfl._softmax("Softmax"), "LogSoftmax": tfl._softmax("LogSoftmax"),
    "Mean": tfl._reduce("ReduceMean"), "Sum": tfl._reduce("ReduceSum"), "Max": tfl._reduce("ReduceMax"),
    "Min": tfl._reduce("ReduceMin"), "Prod": tfl._reduce("ReduceProd"),
    "Reshape": reshape, "Squeeze": squeeze, "ExpandDims": tfl.expand_dims, "ConcatV2": concat_v2,
    "Pack": tfl.pack, "Unpack": unpack, "Split": split, "StridedSlice": strided_slice, "SplitV": split_v,
    "GatherV2": gather_v2, "GatherNd": tfl.gather_nd, "Slice": tfl.slice_, "BroadcastTo": tfl.broadcast_to,
    "Fill": tfl.fill, "ArgMax": arg("ArgMax"), "ArgMin": arg("ArgMin"), "LRN": lrn, "MirrorPad": mirror_pad,
    "SpaceToDepth": depth_space("SpaceToDepth"), "DepthToSpace": depth_space("DepthToSpace"),
    "Transpose": tfl.transpose, "Tile": tfl.tile, "Pad": tfl._pad("constant"), "PadV2": tfl._pad("constant"),
    "Cast": cast, "Shape": shape,
    "ResizeBilinear": tfl._resize("linear"), "ResizeNearestNeighbor": tfl._resize("nearest"),
    "ReverseV2": tfl.reverse_v2,
}
