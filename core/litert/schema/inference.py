"""Static type and shape inference over the IR, one rule per operator.

Frontends may already know shapes (ONNX shape inference); this fills what is
missing and recomputes everything after :meth:`Session.resize`.  An operator
without a rule leaves its outputs unknown, which only costs the memory planner
its foresight for those tensors.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..ir import DType, Graph, Node, Shape, Value

Info = tuple[DType | None, Shape | None]
Rule = Callable[[Node, list[Value | None], Graph], list[Info]]
RULES: dict[tuple[str, str], Rule] = {}


def rule(*ops: str, domain: str = "") -> Callable[[Rule], Rule]:
    def decorate(fn: Rule) -> Rule:
        for op in ops:
            RULES[(domain, op)] = fn
        return fn

    return decorate


def _broadcast(*shapes: Shape | None) -> Shape | None:
    if any(s is None for s in shapes):
        return None
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        known = {d for d in dims if isinstance(d, int) and d != 1}
        if len(known) > 1:
            return None
        if known:
            out.append(known.pop())
        elif all(d == 1 for d in dims):
            out.append(1)
        else:
            symbolic = [d for d in dims if d != 1]
            out.append(symbolic[0] if len(set(symbolic)) == 1 else None)
    return tuple(out)


def _first(inputs):
    v = inputs[0]
    return (v.dtype, v.shape) if v is not None else (None, None)


def _const(inputs, index) -> np.ndarray | None:
    if index < len(inputs) and inputs[index] is not None:
        return inputs[index].const
    return None


_SAME = (
    "Abs Neg Reciprocal Sqrt Exp Log Ceil Floor Round Sign Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh "
    "Atanh Erf Relu Sigmoid Tanh Elu Celu Selu LeakyRelu PRelu HardSigmoid HardSwish Gelu Mish Softplus Softsign "
    "ThresholdedRelu Shrink Swish Clip Identity Softmax LogSoftmax Hardmax LRN BatchNormalization "
    "InstanceNormalization LayerNormalization GroupNormalization RMSNormalization LpNormalization "
    "MeanVarianceNormalization Not BitwiseNot CumSum CumProd Dropout"
).split()
rule(*_SAME)(lambda node, inputs, g: [_first(inputs)] * len(node.outputs))

_ARITH = "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Mean Sum".split()
rule(*_ARITH)(lambda node, inputs, g: [(inputs[0].dtype if inputs[0] else None, _broadcast(*[v.shape if v else None for v in inputs]))])

_COMPARE = "Equal Greater GreaterOrEqual Less LessOrEqual And Or Xor".split()
rule(*_COMPARE)(lambda node, inputs, g: [(DType.BOOL, _broadcast(*[v.shape if v else None for v in inputs]))])
rule("IsNaN", "IsInf")(lambda node, inputs, g: [(DType.BOOL, inputs[0].shape if inputs[0] else None)])
rule("Where")(lambda node, inputs, g: [(inputs[1].dtype, _broadcast(*[v.shape if v else None for v in inputs]))])


@rule("Cast")
def _cast(node, inputs, g):
    return [(DType(node.attrs["to"]), inputs[0].shape)]


@rule("CastLike")
def _cast_like(node, inputs, g):
    return [(inputs[1].dtype, inputs[0].shape)]


def _window(node, spatial_in, kernel, channels_out, batch, dtype, transposed=False):
    rank = len(spatial_in)
    strides = node.attrs.get("strides") or [1] * rank
    dilations = node.attrs.get("dilations") or [1] * rank
    pads = node.attrs.get("pads") or [0] * (2 * rank)
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    ceil = node.attrs.get("ceil_mode", 0)
    out = []
    for i, size in enumerate(spatial_in):
        if not isinstance(size, int) or not isinstance(kernel[i], int):
            out.append(None)
            continue
        effective = (kernel[i] - 1) * dilations[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // strides[i]))
        elif auto_pad == "VALID":
            out.append((size - effective) // strides[i] + 1)
        else:
            span = size + pads[i] + pads[i + rank] - effective
            out.append((-(-span // strides[i]) if ceil else span // strides[i]) + 1)
            if ceil and (out[-1] - 1) * strides[i] >= size + pads[i]:
                out[-1] -= 1
    return [(dtype, (batch, channels_out, *out))]


@rule("Conv")
@rule("FusedConv", domain="com.microsoft")
def _conv(node, inputs, g):
    x, w = inputs[0], inputs[1]
    if x is None or w is None or x.shape is None or w.shape is None:
        return [(x.dtype if x else None, None)]
    kernel = node.attrs.get("kernel_shape") or list(w.shape[2:])
    return _window(node, x.shape[2:], kernel, w.shape[0], x.shape[0], x.dtype)


@rule("MaxPool", "AveragePool", "LpPool")
def _pool(node, inputs, g):
    x = inputs[0]
    if x is None or x.shape is None:
        return [(x.dtype if x else None, None)] * len(node.outputs)
    info = _window(node, x.shape[2:], node.attrs["kernel_shape"], x.shape[1], x.shape[0], x.dtype)
    return info + [(DType.INT64, info[0][1])] * (len(node.outputs) - 1)


@rule("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(node, inputs, g):
    x = inputs[0]
    if x.shape is None:
        return [(x.dtype, None)]
    return [(x.dtype, (*x.shape[:2], *[1] * (len(x.shape) - 2)))]


@rule("Gemm")
@rule("FusedGemm", domain="com.microsoft")
def _gemm(node, inputs, g):
    a, b = inputs[0], inputs[1]
    if a.shape is None or b.shape is None:
        return [(a.dtype, None)]
    m = a.shape[1] if node.attrs.get("transA", 0) else a.shape[0]
    n = b.shape[0] if node.attrs.get("transB", 0) else b.shape[1]
    return [(a.dtype, (m, n))]


@rule("MatMul")
def _matmul(node, inputs, g):
    a, b = inputs[0], inputs[1]
    if a.shape is None or b.shape is None:
        return [(a.dtype, None)]
    sa, sb = list(a.shape), list(b.shape)
    if len(sa) == 1 and len(sb) == 1:
        return [(a.dtype, ())]
    if len(sa) == 1:
        return [(a.dtype, (*sb[:-2], sb[-1]))]
    if len(sb) == 1:
        return [(a.dtype, tuple(sa[:-1]))]
    batch = _broadcast(tuple(sa[:-2]), tuple(sb[:-2]))
    return [(a.dtype, None if batch is None else (*batch, sa[-2], sb[-1]))]


@rule("Reshape")
def _reshape(node, inputs, g):
    x, shape = inputs[0], _const(inputs, 1)
    if shape is None:
        return [(x.dtype, None)]
    dims = [int(d) for d in shape]
    if x.shape is not None and not node.attrs.get("allowzero", 0):
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    if -1 in dims:
        if x.shape is None or not all(isinstance(d, int) for d in x.shape) or not all(isinstance(d, int) for d in dims):
            return [(x.dtype, tuple(None if d == -1 else d for d in dims))]
        known = int(np.prod([d for d in dims if d != -1]))
        dims[dims.index(-1)] = int(np.prod(x.shape)) // known if known else 0
    return [(x.dtype, tuple(dims))]


@rule("Flatten")
def _flatten(node, inputs, g):
    x = inputs[0]
    if x.shape is None or not all(isinstance(d, int) for d in x.shape):
        return [(x.dtype, None)]
    axis = node.attrs.get("axis", 1) % (len(x.shape) or 1) if x.shape else 0
    return [(x.dtype, (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:]))))]


@rule("Transpose")
def _transpose(node, inputs, g):
    x = inputs[0]
    if x.shape is None:
        return [(x.dtype, None)]
    perm = node.attrs.get("perm") or list(reversed(range(len(x.shape))))
    return [(x.dtype, tuple(x.shape[p] for p in perm))]


@rule("Concat")
def _concat(node, inputs, g):
    shapes = [v.shape for v in inputs if v is not None]
    if any(s is None for s in shapes) or not shapes:
        return [(inputs[0].dtype, None)]
    axis = node.attrs["axis"] % len(shapes[0])
    sizes = [s[axis] for s in shapes]
    total = sum(sizes) if all(isinstance(s, int) for s in sizes) else None
    return [(inputs[0].dtype, (*shapes[0][:axis], total, *shapes[0][axis + 1:]))]


@rule("Squeeze")
def _squeeze(node, inputs, g):
    x, axes = inputs[0], _const(inputs, 1)
    if x.shape is None or (axes is None and len(node.inputs) > 1 and node.inputs[1]):
        return [(x.dtype, None)]
    rank = len(x.shape)
    drop = {int(a) % rank for a in axes} if axes is not None else {i for i, d in enumerate(x.shape) if d == 1}
    return [(x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in drop))]


@rule("Unsqueeze")
def _unsqueeze(node, inputs, g):
    x, axes = inputs[0], _const(inputs, 1)
    if x.shape is None or axes is None:
        return [(x.dtype, None)]
    rank = len(x.shape) + len(axes)
    where = {int(a) % rank for a in axes}
    rest = iter(x.shape)
    return [(x.dtype, tuple(1 if i in where else next(rest) for i in range(rank)))]


@rule("Gather")
def _gather(node, inputs, g):
    x, idx = inputs[0], inputs[1]
    if x.shape is None or idx.shape is None:
        return [(x.dtype, None)]
    axis = node.attrs.get("axis", 0) % len(x.shape)
    return [(x.dtype, (*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]))]


@rule("Shape")
def _shape(node, inputs, g):
    x = inputs[0]
    if x.shape is None:
        return [(DType.INT64, None)]
    rank = len(x.shape)
    start, end = node.attrs.get("start", 0), node.attrs.get("end", rank)
    return [(DType.INT64, (len(range(rank)[slice(start, end)]),))]


@rule("Size")
def _size(node, inputs, g):
    return [(DType.INT64, ())]


@rule("Slice")
def _slice(node, inputs, g):
    x = inputs[0]
    starts, ends, axes, steps = (_const(inputs, i) for i in (1, 2, 3, 4))
    if x.shape is None or starts is None or ends is None or (axes is None and len(node.inputs) > 3 and node.inputs[3]):
        return [(x.dtype, None)]
    rank = len(x.shape)
    axes = [int(a) % rank for a in (axes if axes is not None else range(len(starts)))]
    steps = steps if steps is not None else [1] * len(starts)
    out = list(x.shape)
    for a, s, e, st in zip(axes, starts, ends, steps):
        out[a] = len(range(*slice(int(s), int(e), int(st)).indices(x.shape[a]))) if isinstance(x.shape[a], int) else None
    return [(x.dtype, tuple(out))]


def _reduce(node, inputs, g, index_dtype=None):
    x = inputs[0]
    dtype = index_dtype or x.dtype
    if x.shape is None:
        return [(dtype, None)]
    rank = len(x.shape)
    if node.op_type in ("ArgMax", "ArgMin"):
        axes = [node.attrs.get("axis", 0)]
    else:
        const = _const(inputs, 1)
        if const is None and len(node.inputs) > 1 and node.inputs[1]:
            return [(dtype, None)]
        axes = [] if const is None else list(const)
        if not axes:
            if node.attrs.get("noop_with_empty_axes", 0):
                return [(dtype, x.shape)]
            axes = list(range(rank))
    axes = {int(a) % rank for a in axes}
    keep = node.attrs.get("keepdims", 1)
    return [(dtype, tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes))]


rule("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
     "ReduceLogSumExp", "ReduceSumSquare")(_reduce)
rule("ArgMax", "ArgMin")(lambda node, inputs, g: _reduce(node, inputs, g, DType.INT64))


@rule("Expand")
def _expand(node, inputs, g):
    shape = _const(inputs, 1)
    if shape is None:
        return [(inputs[0].dtype, None)]
    return [(inputs[0].dtype, _broadcast(inputs[0].shape, tuple(int(d) for d in shape)))]


@rule("Pad")
def _pad(node, inputs, g):
    x, pads, axes = inputs[0], _const(inputs, 1), _const(inputs, 3)
    if x.shape is None or pads is None or not all(isinstance(d, int) for d in x.shape):
        return [(x.dtype, None)]
    rank = len(x.shape)
    axes = [int(a) % rank for a in axes] if axes is not None else list(range(rank))
    out = list(x.shape)
    for i, a in enumerate(axes):
        out[a] += int(pads[i]) + int(pads[i + len(axes)])
    return [(x.dtype, tuple(out))]


@rule("Resize")
def _resize(node, inputs, g):
    x, scales, sizes = inputs[0], _const(inputs, 2), _const(inputs, 3)
    if x.shape is None or node.attrs.get("axes") or node.attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        return [(x.dtype, None)]
    if sizes is not None and sizes.size:
        return [(x.dtype, tuple(int(s) for s in sizes))]
    if scales is not None and scales.size and all(isinstance(d, int) for d in x.shape):
        return [(x.dtype, tuple(int(np.floor(d * s)) for d, s in zip(x.shape, scales)))]
    return [(x.dtype, None)]


@rule("Split")
def _split(node, inputs, g):
    x, split = inputs[0], _const(inputs, 1)
    if x.shape is None:
        return [(x.dtype, None)] * len(node.outputs)
    axis = node.attrs.get("axis", 0) % len(x.shape)
    n = len(node.outputs)
    if split is None:
        size = x.shape[axis]
        if not isinstance(size, int):
            return [(x.dtype, None)] * n
        chunk = -(-size // n)
        split = [chunk] * (n - 1) + [size - chunk * (n - 1)]
    return [(x.dtype, (*x.shape[:axis], int(s), *x.shape[axis + 1:])) for s in split]


def infer_shapes(graph: Graph) -> None:
    """Fill dtype/shape of every value the rules can determine, in node order."""
    for node in graph.nodes:
        outputs = [graph.values.get(n) for n in node.outputs if n]
        if all(v is not None and v.shape is not None and v.dtype is not None for v in outputs):
            continue
        fn = RULES.get((node.domain, node.op_type))
        inputs = [graph.values.get(n) if n else None for n in node.inputs]
        if fn is None or not inputs or inputs[0] is None:
            continue
        try:
            infos = fn(node, inputs, graph)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ZeroDivisionError):
            continue  # an unexpected form: leave the outputs unknown
        for name, (dtype, shape) in zip(node.outputs, infos):
            if not name:
                continue
            value = graph.value(name)
            if value.dtype is None:
                value.dtype = dtype
            if value.shape is None:
                value.shape = shape
