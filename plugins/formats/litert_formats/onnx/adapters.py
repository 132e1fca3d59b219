"""Adapters that rewrite one node from an older ONNX operator version.

Each adapter takes ``(builder, node)`` where ``node`` is in the form of the
version just before the one the adapter is registered for (see the table in
:mod:`.upgrade`) and brings it to that version's form.  It either mutates
``node`` in place and returns None, or returns the list of nodes that
replace it (``node`` itself may be in the list; nodes it creates are in the
latest form already).  References: the ONNX Changelog and the onnx
``version_converter`` C++ adapters; behaviour of old kernels follows
onnxruntime where the spec was silent (Resize-10 / Upsample rounding).
"""
from __future__ import annotations

import numpy as np

from litert.errors import InvalidModelError, UnsupportedOperatorError
from litert.ir import DType, Node

from .builder import Builder
from .onnx_ml_pb2 import TensorProto

FLT_MAX = float(np.finfo(np.float32).max)


# ---------------------------------------------------------------- helpers


def unsupported(node: Node, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(
        f"node {node.name!r} ({node.op_type}): {why}", node=node.name, op_type=node.op_type, domain=node.domain
    )


def set_input(node: Node, index: int, name: str) -> None:
    while len(node.inputs) <= index:
        node.inputs.append("")
    node.inputs[index] = name


def trim_inputs(node: Node) -> None:
    while node.inputs and not node.inputs[-1]:
        node.inputs.pop()


def np_dtype_of(b: Builder, name: str, default=np.float32) -> np.dtype:
    dtype = b.dtype(name)
    return dtype.numpy if dtype is not None and dtype is not DType.STRING else np.dtype(default)


def attr_to_input(index: int, attr: str = "axes", dtype=np.int64, skip_empty: bool = True):
    """Adapter: move list attribute ``attr`` to constant input ``index``."""

    def adapt(b: Builder, node: Node) -> None:
        value = node.attrs.pop(attr, None)
        if value is None or (skip_empty and isinstance(value, list) and not value):
            return
        set_input(node, index, b.add_const(np.array(value, dtype=dtype), attr))

    adapt.__doc__ = f"attribute {attr!r} -> input {index}"
    return adapt


def drop_attrs(*names: str):
    def adapt(b: Builder, node: Node) -> None:
        for n in names:
            node.attrs.pop(n, None)

    adapt.__doc__ = "drop " + ", ".join(names)
    return adapt


def set_default(attr: str, value):
    def adapt(b: Builder, node: Node) -> None:
        node.attrs.setdefault(attr, value)

    adapt.__doc__ = f"{attr} defaults to {value!r} (old, undeclared default)"
    return adapt


def rename_values(attr: str, mapping: dict):
    def adapt(b: Builder, node: Node) -> None:
        if node.attrs.get(attr) in mapping:
            node.attrs[attr] = mapping[node.attrs[attr]]

    adapt.__doc__ = f"{attr}: " + ", ".join(f"{k}->{v}" for k, v in mapping.items())
    return adapt


def rename_op(new_op: str):
    def adapt(b: Builder, node: Node) -> None:
        node.op_type = new_op

    adapt.__doc__ = f"becomes {new_op}"
    return adapt


def float_to_int(attr: str):
    def adapt(b: Builder, node: Node) -> None:
        if attr in node.attrs:
            node.attrs[attr] = int(round(float(node.attrs[attr])))

    adapt.__doc__ = f"{attr}: float -> int"
    return adapt


# ---------------------------------------------------------------- shape ops


def reshape_5(b: Builder, node: Node) -> None:
    """Reshape-1: ``shape`` attribute -> input."""
    shape = node.attrs.pop("shape", None)
    if shape is None:
        raise InvalidModelError(f"node {node.name!r} (Reshape-1) has no 'shape' attribute")
    node.inputs = [node.inputs[0], b.add_const(np.array(shape, np.int64), "shape")]


def slice_10(b: Builder, node: Node) -> None:
    """Slice-1: starts/ends/axes attributes -> inputs."""
    starts, ends = node.attrs.pop("starts"), node.attrs.pop("ends")
    axes = node.attrs.pop("axes", None)
    node.inputs = [node.inputs[0], b.add_const(np.array(starts, np.int64), "starts"),
                   b.add_const(np.array(ends, np.int64), "ends")]
    if axes is not None:
        node.inputs.append(b.add_const(np.array(axes, np.int64), "axes"))


def split_2(b: Builder, node: Node) -> None:
    """Split-1: axis had no declared default (0); a second input carried the split."""
    node.attrs.setdefault("axis", 0)


def split_13(b: Builder, node: Node) -> None:
    """``split`` attribute -> input (a Split-1 ``split`` input stays where it is)."""
    split = node.attrs.pop("split", None)
    if split is not None and len(split):
        node.inputs = [node.inputs[0], b.add_const(np.array(split, np.int64), "split")]


def split_18(b: Builder, node: Node) -> None:
    """Without a ``split`` input, Split-18 needs ``num_outputs``."""
    if (len(node.inputs) < 2 or not node.inputs[1]) and "num_outputs" not in node.attrs:
        node.attrs["num_outputs"] = len(node.outputs)


def tile_6(b: Builder, node: Node) -> None:
    """Tile-1 (input, tiles, axis) -> Tile-6 (input, repeats)."""
    tiles, axis, rank = b.const(node.inputs[1]), b.const(node.inputs[2]), b.rank(node.inputs[0])
    if tiles is None or axis is None or rank is None:
        raise unsupported(node, "Tile-1 needs constant tiles/axis and an input of known rank")
    repeats = np.ones(rank, np.int64)
    repeats[int(axis.reshape(-1)[0])] = int(tiles.reshape(-1)[0])
    node.inputs = [node.inputs[0], b.add_const(repeats, "repeats")]


def pad_2(b: Builder, node: Node) -> None:
    """Pad-1: ``paddings`` renamed ``pads``."""
    if "paddings" in node.attrs:
        node.attrs["pads"] = node.attrs.pop("paddings")


def pad_11(b: Builder, node: Node) -> None:
    """pads / value attributes -> inputs."""
    pads = node.attrs.pop("pads")
    value = float(node.attrs.pop("value", 0.0))
    node.inputs = [node.inputs[0], b.add_const(np.array(pads, np.int64), "pads")]
    if value != 0.0 and node.attrs.get("mode", "constant") == "constant":
        node.inputs.append(b.add_const(np.array(value, dtype=np_dtype_of(b, node.inputs[0])), "value"))


def clip_11(b: Builder, node: Node) -> None:
    """min / max attributes -> inputs (the float limits meant 'no bound')."""
    dtype = np_dtype_of(b, node.inputs[0])
    lo, hi = node.attrs.pop("min", None), node.attrs.pop("max", None)
    node.inputs = node.inputs[:1]
    if lo is not None and lo > -FLT_MAX:
        set_input(node, 1, b.add_const(np.array(lo, dtype=dtype), "min"))
    if hi is not None and hi < FLT_MAX:
        set_input(node, 2, b.add_const(np.array(hi, dtype=dtype), "max"))


def topk_10(b: Builder, node: Node) -> None:
    node.inputs = [node.inputs[0], b.add_const(np.array([node.attrs.pop("k")], np.int64), "k")]


def cast_6(b: Builder, node: Node) -> None:
    """Cast-1: ``to`` was a type name."""
    to = node.attrs.get("to")
    if isinstance(to, str):
        try:
            node.attrs["to"] = int(TensorProto.DataType.Value(to.upper()))
        except ValueError:
            raise InvalidModelError(f"node {node.name!r} (Cast-1): unknown type name {to!r}") from None


# ---------------------------------------------------------------- broadcasting


def legacy_broadcast(b: Builder, node: Node) -> list[Node] | None:
    """``broadcast=1, axis=k``: B aligns with A from axis k; unsqueeze B's trailing dims."""
    bcast = node.attrs.pop("broadcast", 0)
    axis = node.attrs.pop("axis", None)
    if not bcast or axis is None:
        return None
    a_rank, b_rank = b.rank(node.inputs[0]), b.rank(node.inputs[1])
    if a_rank is None or b_rank is None:
        raise unsupported(node, f"legacy broadcast with axis={axis} needs inputs of known rank")
    if axis < 0:
        axis += a_rank
    extra = a_rank - axis - b_rank
    if extra <= 0:
        return None
    const = b.const(node.inputs[1])
    if const is not None:
        node.inputs[1] = b.add_const(const.reshape(const.shape + (1,) * extra), "B")
        return None
    src = node.inputs[1]
    shape = b.shape(src)
    out = b.new_value("B", b.dtype(src), None if shape is None else tuple(shape) + (1,) * extra)
    axes = b.add_const(np.arange(b_rank, b_rank + extra, dtype=np.int64), "axes")
    node.inputs[1] = out
    return [b.make("Unsqueeze", [src, axes], [out]), node]


# ---------------------------------------------------------------- normalisation / dropout


def dropout_10(b: Builder, node: Node) -> list[Node] | None:
    """Dropout-7..9 mask had the data type; since 10 it is bool: cast back when it is read."""
    if len(node.outputs) < 2 or not b.is_used(node.outputs[1]):
        return None
    dtype = b.dtype(node.inputs[0], DType.FLOAT32)
    mask = node.outputs[1]
    tmp = b.new_value("mask", DType.BOOL, b.shape(node.inputs[0]))
    node.outputs[1] = tmp
    return [node, b.make("Cast", [tmp], [mask], to=dtype.value)]


def dropout_12(b: Builder, node: Node) -> None:
    """ratio attribute -> input."""
    ratio = node.attrs.pop("ratio", None)
    if ratio is not None:
        set_input(node, 1, b.add_const(np.array(ratio, np.float32), "ratio"))


def batchnorm_9(b: Builder, node: Node) -> list[Node] | None:
    """spatial=0 (statistics per activation): decompose into elementwise ops."""
    spatial = node.attrs.pop("spatial", 1)
    x, scale, bias, mean, var = node.inputs[:5]
    x_rank, p_rank = b.rank(x), b.rank(scale)
    if spatial or (p_rank == 1 and (x_rank is None or x_rank > 2)):
        return None  # per-channel parameters: spatial was moot
    eps = float(node.attrs.get("epsilon", 1e-5))
    y = node.outputs[0]
    dtype = b.dtype(x, DType.FLOAT32)
    params = [p for p in (b.const(n) for n in (scale, bias, mean, var)) if p is not None]
    if len(params) == 4:
        s, bb, m, v = (p.astype(np.float64) for p in params)
        a = s / np.sqrt(v + eps)
        mul = b.add_const((a).astype(dtype.numpy), "a")
        add = b.add_const((bb - m * a).astype(dtype.numpy), "b")
        t = b.new_value("scaled", dtype, b.shape(x))
        nodes = [b.make("Mul", [x, mul], [t]), b.make("Add", [t, add], [y])]
    else:
        eps_c = b.add_const(np.array(eps, dtype.numpy), "epsilon")
        t1, t2, t3, t4, t5 = (b.new_value(h, dtype) for h in ("centered", "var_eps", "std", "normed", "scaled"))
        nodes = [
            b.make("Sub", [x, mean], [t1]), b.make("Add", [var, eps_c], [t2]), b.make("Sqrt", [t2], [t3]),
            b.make("Div", [t1, t3], [t4]), b.make("Mul", [t4, scale], [t5]), b.make("Add", [t5, bias], [y]),
        ]
    return nodes + _batchnorm_extra_outputs(b, node)


def _batchnorm_extra_outputs(b: Builder, node: Node) -> list[Node]:
    """In inference the running/saved statistics outputs are the given mean and var."""
    extra = []
    for i, out in enumerate(node.outputs[1:5], start=1):
        if b.is_used(out):
            extra.append(b.make("Identity", [node.inputs[3 if i % 2 else 4]], [out]))
    return extra


def batchnorm_14(b: Builder, node: Node) -> list[Node] | None:
    """Inference BatchNormalization has one output; feed any read statistics output from the inputs."""
    extra = _batchnorm_extra_outputs(b, node)
    node.outputs = node.outputs[:1]
    return [node] + extra if extra else None


def group_norm_21(b: Builder, node: Node) -> list[Node] | None:
    """GroupNormalization-18 scale/bias are per group; 21 wants them per channel."""
    x, scale, bias = node.inputs[:3]
    groups = int(node.attrs["num_groups"])
    dtype = b.dtype(x)
    if dtype is not None and dtype is not DType.FLOAT32:
        node.attrs.setdefault("stash_type", dtype.value)
    shape = b.shape(x)
    channels = shape[1] if shape is not None and len(shape) > 1 and isinstance(shape[1], int) else None
    scale_c, bias_c = b.const(scale), b.const(bias)
    if channels is not None and scale_c is not None and bias_c is not None:
        node.inputs[1] = b.add_const(np.repeat(scale_c.reshape(-1), channels // groups), "scale")
        node.inputs[2] = b.add_const(np.repeat(bias_c.reshape(-1), channels // groups), "bias")
        return None
    # Dynamic: Reshape(p, [-1, 1]) -> Expand(., [1, C / G]) -> Reshape(., [-1]), as onnx's converter does.
    c = b.new_value("C", DType.INT64, (1,))
    per = b.new_value("C_per_group", DType.INT64, (1,))
    target = b.new_value("expand_shape", DType.INT64, (2,))
    nodes = [
        b.make("Shape", [x], [c], start=1, end=2),
        b.make("Div", [c, b.add_const(np.array([groups], np.int64), "G")], [per]),
        b.make("Concat", [b.add_const(np.array([1], np.int64), "one"), per], [target], axis=0),
    ]
    col = b.add_const(np.array([-1, 1], np.int64), "col")
    flat = b.add_const(np.array([-1], np.int64), "flat")
    for i, hint in ((1, "scale"), (2, "bias")):
        r, e, out = b.new_value(hint), b.new_value(hint), b.new_value(hint)
        nodes += [b.make("Reshape", [node.inputs[i], col], [r]), b.make("Expand", [r, target], [e]),
                  b.make("Reshape", [e, flat], [out])]
        node.inputs[i] = out
    return nodes + [node]


def softmax_13(b: Builder, node: Node) -> list[Node] | None:
    """Softmax/LogSoftmax/Hardmax < 13 coerce the input to 2-D at ``axis``.

    When at most one of the dims from ``axis`` on can differ from 1 (always
    so for the last axis) the result equals the per-axis form on that dim;
    otherwise rewrite as Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)).
    The shape is taken at run time so the model stays resizable.
    """
    axis = int(node.attrs.get("axis", 1))
    x = node.inputs[0]
    rank = b.rank(x)
    if axis == -1:
        return None
    if rank is not None:
        axis = axis + rank if axis < 0 else axis
        tail = b.shape(x)[axis:] if b.shape(x) is not None else ()
        if axis == rank - 1:
            node.attrs["axis"] = -1
            return None
        if tail and all(isinstance(d, int) for d in tail):
            wide = [i for i, d in enumerate(tail) if d != 1]
            if len(wide) <= 1:
                node.attrs["axis"] = axis + (wide[0] if wide else len(tail) - 1)
                return None
    dtype = b.dtype(x)
    y = node.outputs[0]
    flat = b.new_value("flat", dtype)
    out2d = b.new_value("2d", dtype)
    target = b.new_value("shape", DType.INT64, (rank,) if rank is not None else None)
    node.inputs[0] = flat
    node.outputs[0] = out2d
    node.attrs["axis"] = -1
    return [b.make("Shape", [x], [target]), b.make("Flatten", [x], [flat], axis=axis), node,
            b.make("Reshape", [out2d, target], [y])]


# ---------------------------------------------------------------- resize family


def upsample_7(b: Builder, node: Node) -> None:
    """Upsample-1: height_scale/width_scale of a 4-D input -> scales; 'bilinear' -> 'linear'."""
    h, w = node.attrs.pop("height_scale", None), node.attrs.pop("width_scale", None)
    if h is None or w is None:
        raise InvalidModelError(f"node {node.name!r} (Upsample-1) needs height_scale and width_scale")
    node.attrs["scales"] = [1.0, 1.0, float(h), float(w)]
    if node.attrs.get("mode") == "bilinear":
        node.attrs["mode"] = "linear"


def upsample_9(b: Builder, node: Node) -> None:
    node.inputs = [node.inputs[0], b.add_const(np.array(node.attrs.pop("scales"), np.float32), "scales")]


def resize_11(b: Builder, node: Node) -> None:
    """Resize-10 (and Upsample): (X, scales) with asymmetric coordinates.

    Old nearest rounding (onnxruntime's): truncate when upsampling an axis,
    ceil when downsampling; expressed as nearest_mode floor / ceil.
    """
    node.inputs = [node.inputs[0], "", node.inputs[1]]
    node.attrs["coordinate_transformation_mode"] = "asymmetric"
    if node.attrs.get("mode", "nearest") == "nearest":
        scales = b.const(node.inputs[2])
        down = scales is not None and scales.size and np.all(scales <= 1) and np.any(scales < 1)
        node.attrs["nearest_mode"] = "ceil" if down else "floor"


#: tf_half_pixel_for_nn (gone in Resize-13): x_orig = (x + .5) / s.  With z the
#: half_pixel coordinate (x_orig - .5): floor(x_orig) = round_prefer_ceil(z) and
#: round_prefer_floor(x_orig) = ceil(z).
_TF_HALF_PIXEL_NN = {"floor": "round_prefer_ceil", "round_prefer_floor": "ceil"}


def resize_13(b: Builder, node: Node) -> None:
    """roi/scales became optional: drop empty constants; map tf_half_pixel_for_nn."""
    for i in (1, 2):
        if i < len(node.inputs) and node.inputs[i]:
            c = b.const(node.inputs[i])
            if c is not None and c.size == 0:
                node.inputs[i] = ""
    roi_is_read = node.attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize"
    if not roi_is_read and len(node.inputs) > 1 and b.const(node.inputs[1]) is not None:
        node.inputs[1] = ""  # roi is only read by tf_crop_and_resize
    trim_inputs(node)
    if node.attrs.get("coordinate_transformation_mode") == "tf_half_pixel_for_nn":
        rounding = node.attrs.get("nearest_mode", "round_prefer_floor")
        if node.attrs.get("mode", "nearest") != "nearest" or rounding not in _TF_HALF_PIXEL_NN:
            raise unsupported(node, f"coordinate_transformation_mode tf_half_pixel_for_nn with "
                                    f"mode={node.attrs.get('mode')!r}, nearest_mode={rounding!r} has no Resize-13 form")
        node.attrs["coordinate_transformation_mode"] = "half_pixel"
        node.attrs["nearest_mode"] = _TF_HALF_PIXEL_NN[rounding]


def dft_20(b: Builder, node: Node) -> None:
    axis = node.attrs.pop("axis", 1)
    set_input(node, 2, b.add_const(np.array(axis, np.int64), "axis"))


def roialign_16(b: Builder, node: Node) -> None:
    """RoiAlign-10 behaved as 'output_half_pixel' (16's default is half_pixel)."""
    node.attrs.setdefault("coordinate_transformation_mode", "output_half_pixel")


# ---------------------------------------------------------------- control flow


def scan_9(b: Builder, node: Node) -> list[Node]:
    """Scan-8 has a leading batch axis on every input/output; handled for batch 1.

    The body (per batch element) is unchanged; inputs are squeezed on axis 0,
    outputs unsqueezed back.  ``directions`` -> ``scan_input_directions``.
    """
    seq_lens, *inputs = node.inputs
    if seq_lens:
        raise unsupported(node, "Scan-8 with sequence_lens cannot be upgraded")
    for name in inputs:
        shape = b.shape(name)
        if shape is not None and shape and isinstance(shape[0], int) and shape[0] != 1:
            raise unsupported(node, f"Scan-8 with batch size {shape[0]} cannot be upgraded (only batch 1)")
    if "directions" in node.attrs:
        node.attrs["scan_input_directions"] = node.attrs.pop("directions")
    axes = b.add_const(np.array([0], np.int64), "axes")
    before, after = [], []
    new_inputs = []
    for name in inputs:
        shape = b.shape(name)
        sq = b.new_value("in", b.dtype(name), None if shape is None else shape[1:])
        before.append(b.make("Squeeze", [name, axes], [sq]))
        new_inputs.append(sq)
    new_outputs: list[str] = []
    for name in node.outputs:
        if not name:
            new_outputs.append(name)
            continue
        value = b.value(name)
        shape = value.shape if value is not None else None
        sq = b.new_value("out", value.dtype if value is not None else None, None if shape is None else shape[1:])
        after.append(b.make("Unsqueeze", [sq, axes], [name]))
        new_outputs.append(sq)
    node.inputs, node.outputs = new_inputs, new_outputs
    return before + [node] + after


# ---------------------------------------------------------------- removed experimental operators


def image_scaler(b: Builder, node: Node) -> list[Node]:
    """ImageScaler (experimental, opset 1..8): y = scale * x + bias[c] on NCHW."""
    x, y = node.inputs[0], node.outputs[0]
    dtype = np_dtype_of(b, x)
    scale = float(node.attrs.get("scale", 1.0))
    bias = np.array(node.attrs.get("bias", []), dtype=dtype)
    t = b.new_value("scaled", b.dtype(x), b.shape(x))
    nodes = [b.make("Mul", [x, b.add_const(np.array(scale, dtype), "scale")], [t])]
    nodes.append(b.make("Add", [t, b.add_const(bias.reshape(1, -1, 1, 1), "bias")], [y]))
    return nodes


def _elementwise(b: Builder, node: Node, steps) -> list[Node]:
    """Chain of unary/binary ops on the node's input; ``steps`` = [(op, constant or None)]."""
    x, y = node.inputs[0], node.outputs[0]
    dtype = np_dtype_of(b, x)
    nodes, cur = [], x
    for i, (op, const) in enumerate(steps):
        out = y if i == len(steps) - 1 else b.new_value(op.lower(), b.dtype(x), b.shape(x))
        inputs = [cur] if const is None else [cur, b.add_const(np.array(const, dtype), op.lower())]
        nodes.append(b.make(op, inputs, [out]))
        cur = out
    return nodes


def affine(b: Builder, node: Node) -> list[Node]:
    """Affine (experimental): alpha * x + beta."""
    return _elementwise(b, node, [("Mul", node.attrs.get("alpha", 1.0)), ("Add", node.attrs.get("beta", 0.0))])


def scale(b: Builder, node: Node) -> list[Node]:
    """Scale (experimental): scale * x."""
    return _elementwise(b, node, [("Mul", node.attrs.get("scale", 1.0))])


def scaled_tanh(b: Builder, node: Node) -> list[Node]:
    """ScaledTanh (experimental): alpha * tanh(beta * x)."""
    return _elementwise(b, node, [("Mul", node.attrs.get("beta", 1.0)), ("Tanh", None),
                                  ("Mul", node.attrs.get("alpha", 1.0))])


def parametric_softplus(b: Builder, node: Node) -> list[Node]:
    """ParametricSoftplus (experimental): alpha * ln(exp(beta * x) + 1)."""
    return _elementwise(b, node, [("Mul", node.attrs.get("beta", 1.0)), ("Softplus", None),
                                  ("Mul", node.attrs.get("alpha", 1.0))])


def thresholded_relu_experimental(b: Builder, node: Node) -> list[Node]:
    """ThresholdedRelu before opset 10 (experimental, same meaning)."""
    return [b.make("ThresholdedRelu", node.inputs, node.outputs, alpha=float(node.attrs.get("alpha", 1.0)))]


def dynamic_slice(b: Builder, node: Node) -> list[Node]:
    """DynamicSlice (experimental): the inputs of Slice-10."""
    return [b.make("Slice", node.inputs, node.outputs)]


def prelu_7(b: Builder, node: Node) -> None:
    """PRelu-6 applied a 1-D slope per channel (axis 1); PRelu-7 broadcasts
    numpy-style (from the last axis), so reshape the slope to ``[C, 1, ...]``."""
    slope, rank = b.const(node.inputs[1]), b.rank(node.inputs[0])
    if slope is None or slope.ndim != 1 or slope.size == 1 or rank is None or rank < 3:
        return
    node.inputs[1] = b.add_const(slope.reshape(-1, *([1] * (rank - 2))), "slope")
