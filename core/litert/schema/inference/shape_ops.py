"""Operators that rearrange, cut, join or create tensors: Reshape, Flatten,
Transpose, (Un)Squeeze, Concat, Split, Slice, Pad, Expand, Tile, Shape,
Size, Constant, ConstantOfShape, Range."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ...ir import Dim, DType, Graph, Node, Shape
from ._base import (
    Info,
    Inputs,
    arg,
    broadcast,
    constant_value,
    dtype_of,
    ints,
    is_omitted,
    norm_axis,
    product,
    rank_of,
    rule,
    scalar,
    scalar_rule,
    shape_data,
    shape_of,
    shaped_rule,
)

#: Slice ends at or beyond this take the whole axis (ONNX writes INT64_MAX or INT32_MAX)
_WHOLE = 2**31 - 1


def _unknown_rank(n: int | None) -> Shape | None:
    return None if n is None else (None,) * n


def _fold(dims: Sequence[Dim]) -> Dim:
    """The product of ``dims``; one symbol times known 1s stays that symbol."""
    total = product(dims)
    if total is not None:
        return total
    rest = [d for d in dims if d != 1]
    return rest[0] if len(rest) == 1 and isinstance(rest[0], str) else None


@rule("Reshape")
def _reshape(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    target = shape_data(inputs, 1)
    if target is None:
        s = shape_of(arg(inputs, 1))
        return [(dtype_of(x), _unknown_rank(s[0] if s and isinstance(s[0], int) else None))]
    allowzero = node.attrs.get("allowzero", 0)
    dims: list[Dim] = []
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            dims.append(x.shape[i] if x.shape is not None and i < len(x.shape) else None)
        else:
            dims.append(d)
    if dims.count(-1) > 1 or any(isinstance(d, int) and d < -1 for d in dims):
        raise ValueError(f"invalid Reshape target {target}")
    if -1 in dims:
        where = dims.index(-1)
        dims[where] = _infer_minus_one(x.shape, dims[:where] + dims[where + 1:])
    return [(dtype_of(x), tuple(dims))]


def _infer_minus_one(source: Shape | None, others: list[Dim]) -> Dim:
    """The size ``-1`` stands for: symbols common to both sides cancel out."""
    if source is None or any(d is None for d in source) or any(d is None for d in others):
        return None
    src, dst = Counter(d for d in source if isinstance(d, str)), Counter(d for d in others if isinstance(d, str))
    if src != dst:
        return None
    known_src = product(d for d in source if isinstance(d, int))
    known_dst = product(d for d in others if isinstance(d, int))
    if not known_dst or known_src % known_dst:
        return None
    return known_src // known_dst


@rule("Flatten")
def _flatten(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        return [(x.dtype, (None, None))]
    rank = len(x.shape)
    axis = node.attrs.get("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis <= rank:
        raise ValueError("Flatten axis out of range")
    return [(x.dtype, (_fold(x.shape[:axis]), _fold(x.shape[axis:])))]


@rule("Transpose")
def _transpose(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        perm = node.attrs.get("perm")
        return [(x.dtype, _unknown_rank(len(perm)) if perm else None)]
    perm = node.attrs.get("perm") or list(reversed(range(len(x.shape))))
    return [(x.dtype, tuple(x.shape[p] for p in perm))]


@shaped_rule("Squeeze")
def _squeeze(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    if is_omitted(node, 1):
        if not all(isinstance(d, int) for d in shape):
            return [(x.dtype, None)]  # which unknown dims are 1 is data
        return [(x.dtype, tuple(d for d in shape if d != 1))]
    axes = ints(inputs, 1)
    rank = len(shape)
    if axes is None:  # which axes is data; how many may be known
        n = shape_of(arg(inputs, 1))
        return [(x.dtype, _unknown_rank(rank - n[0] if n and isinstance(n[0], int) else None))]
    drop = {norm_axis(a, rank) for a in axes}
    return [(x.dtype, tuple(d for i, d in enumerate(shape) if i not in drop))]


@rule("Unsqueeze")
def _unsqueeze(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, axes = inputs[0], ints(inputs, 1)
    if x.shape is None or axes is None:
        n = shape_of(arg(inputs, 1))
        extra = n[0] if n and isinstance(n[0], int) else (1 if n == () else None)
        rank = None if x.shape is None or extra is None else len(x.shape) + extra
        return [(x.dtype, _unknown_rank(rank))]
    rank = len(x.shape) + len(axes)
    where = {norm_axis(a, rank) for a in axes}
    rest = iter(x.shape)
    return [(x.dtype, tuple(1 if i in where else next(rest) for i in range(rank)))]


@rule("Concat")
def _concat(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    present = [v for v in inputs if v is not None]
    dtype = next((v.dtype for v in present if v.dtype is not None), None)
    shapes = [v.shape for v in present if v.shape is not None]
    if not shapes:
        return [(dtype, None)]
    rank = len(shapes[0])
    axis = norm_axis(node.attrs["axis"], rank)
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[i] for s in shapes]
        if i == axis:
            sizes = [d for d in dims if isinstance(d, int)]
            out.append(sum(sizes) if len(shapes) == len(present) and len(sizes) == len(dims) else None)
        else:
            fixed = [d for d in dims if isinstance(d, int)]
            symbols = {d for d in dims if d is not None}
            out.append(fixed[0] if fixed else (symbols.pop() if len(symbols) == 1 else None))
    return [(dtype, tuple(out))]


@rule("Split")
def _split(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    n = len(node.outputs)
    if x.shape is None:
        return [(x.dtype, None)] * n
    axis = norm_axis(node.attrs.get("axis", 0), len(x.shape))
    if is_omitted(node, 1):
        size = x.shape[axis]
        count = node.attrs.get("num_outputs") or n
        if isinstance(size, int):
            chunk = -(-size // count)
            sizes: list[Dim] = [*[chunk] * (count - 1), size - chunk * (count - 1)]
        else:
            sizes = [None] * n
    else:
        given = ints(inputs, 1)
        sizes = list(given) if given else [None] * n
    return [(x.dtype, (*x.shape[:axis], s, *x.shape[axis + 1:])) for s in sizes]


@shaped_rule("Slice")
def _slice(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    starts, ends = ints(inputs, 1), ints(inputs, 2)
    axes = None if is_omitted(node, 3) else ints(inputs, 3)
    steps = None if is_omitted(node, 4) else ints(inputs, 4)
    rank = len(shape)
    if starts is None or ends is None or (axes is None and not is_omitted(node, 3)) or (
            steps is None and not is_omitted(node, 4)):
        if axes is not None:  # the sliced axes are known: every other dim stays
            touched = {norm_axis(a, rank) for a in axes}
            return [(x.dtype, tuple(None if i in touched else d for i, d in enumerate(shape)))]
        return [(x.dtype, _unknown_rank(rank))]
    axes = [norm_axis(a, rank) for a in (axes if axes is not None else range(len(starts)))]
    steps = steps if steps is not None else [1] * len(starts)
    out = list(shape)
    for a, s, e, st in zip(axes, starts, ends, steps):
        size = shape[a]
        if isinstance(size, int):
            out[a] = len(range(*slice(s, e, st).indices(size)))
        elif st == 1 and s == 0 and e >= _WHOLE:
            out[a] = size
        else:
            out[a] = None
    return [(x.dtype, tuple(out))]


@shaped_rule("Pad")
def _pad(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x, pads = inputs[0], ints(inputs, 1)
    rank = len(shape)
    axes = list(range(rank)) if is_omitted(node, 3) else ints(inputs, 3)
    if pads is None or axes is None:
        return [(x.dtype, _unknown_rank(rank))]
    axes = [norm_axis(a, rank) for a in axes]
    out = list(shape)
    for i, a in enumerate(axes):
        extra = pads[i] + pads[i + len(axes)]
        out[a] = out[a] + extra if isinstance(out[a], int) else (out[a] if extra == 0 else None)
    return [(x.dtype, tuple(out))]


@rule("Expand")
def _expand(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, target = inputs[0], shape_data(inputs, 1)
    if target is None:
        n = shape_of(arg(inputs, 1))
        if x.shape is None or not n or not isinstance(n[0], int):
            return [(x.dtype, None)]
        target = (None,) * n[0]
    return [(x.dtype, broadcast(x.shape, tuple(target)))]


@shaped_rule("Tile")
def _tile(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x, repeats = inputs[0], ints(inputs, 1)
    if repeats is None:
        return [(x.dtype, _unknown_rank(len(shape)))]
    return [(x.dtype, tuple(d * r if isinstance(d, int) else (d if r == 1 else None)
                            for d, r in zip(shape, repeats)))]


@rule("Shape")
def _shape(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    rank = rank_of(inputs[0])
    if rank is None:
        return [(DType.INT64, (None,))]
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return [(DType.INT64, (len(range(rank)[slice(start, end if end is not None else rank)]),))]


scalar_rule("Size", dtype=DType.INT64)


@rule("Constant")
def _constant(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    value = constant_value(node)
    if value is None:
        return [(None, None)]
    return [(DType.from_numpy(value.dtype), tuple(value.shape))]


@rule("ConstantOfShape")
def _constant_of_shape(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    value = node.attrs.get("value")
    dtype = DType.from_numpy(np.asarray(value).dtype) if value is not None else DType.FLOAT32
    target = shape_data(inputs, 0)
    if target is None:
        n = shape_of(inputs[0])
        return [(dtype, _unknown_rank(n[0] if n and isinstance(n[0], int) else None))]
    return [(dtype, tuple(target))]


@rule("Range")
def _range(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    start, limit, delta = scalar(inputs, 0), scalar(inputs, 1), scalar(inputs, 2)
    dtype = dtype_of(inputs[0])
    if start is None or limit is None or not delta:
        return [(dtype, (None,))]
    return [(dtype, (max(int(np.ceil((limit - start) / delta)), 0),))]

