"""Indexing: Gather*, Scatter*, OneHot, Compress, NonZero, Unique,
NonMaxSuppression, ArrayFeatureExtractor.  Sizes chosen by data
(Compress, NonZero, Unique) are unknown unless the data is known."""
from __future__ import annotations

import numpy as np

from ...ir import Dim, DType, Graph, Node, Shape
from ._base import Info, Inputs, arg, const, dtype_of, like, norm_axis, product, rule, scalar, shape_of


@rule("Gather")
def _gather(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, idx = inputs[0], inputs[1]
    if x.shape is None or idx.shape is None:
        return [(x.dtype, None)]
    axis = norm_axis(node.attrs.get("axis", 0), len(x.shape))
    return [(x.dtype, (*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]))]


@rule("GatherElements")
def _gather_elements(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), shape_of(inputs[1]))]


@rule("GatherND")
def _gather_nd(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, idx = inputs[0], inputs[1]
    if x.shape is None or idx.shape is None or not idx.shape or not isinstance(idx.shape[-1], int):
        return [(x.dtype, None)]
    batch = node.attrs.get("batch_dims", 0)
    return [(x.dtype, (*idx.shape[:-1], *x.shape[batch + idx.shape[-1]:]))]


@rule("Scatter", "ScatterElements", "ScatterND", "TensorScatter")
def _scatter(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [like(inputs[0])]


@rule("OneHot")
def _one_hot(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    idx, depth = inputs[0], scalar(inputs, 1)
    dtype = dtype_of(arg(inputs, 2))
    if idx.shape is None:
        return [(dtype, None)]
    rank = len(idx.shape) + 1
    axis = norm_axis(node.attrs.get("axis", -1), rank)
    shape = list(idx.shape)
    shape.insert(axis, int(depth) if depth is not None else None)
    return [(dtype, tuple(shape))]


@rule("Compress")
def _compress(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, cond = inputs[0], const(inputs, 1)
    axis = node.attrs.get("axis")
    if axis is None:
        length = product(x.shape) if x.shape is not None else None
        return [(x.dtype, (_selected(cond, length),))]
    if x.shape is None:
        return [(x.dtype, None)]
    axis = norm_axis(axis, len(x.shape))
    shape = list(x.shape)
    shape[axis] = _selected(cond, x.shape[axis])
    return [(x.dtype, tuple(shape))]


def _selected(cond: np.ndarray | None, length: Dim) -> Dim:
    """How many entries a known condition keeps (it may be shorter than the axis)."""
    if cond is None or not isinstance(length, int):
        return None
    return int(np.count_nonzero(np.asarray(cond).reshape(-1)[:length]))


@rule("NonZero")
def _nonzero(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    return [(DType.INT64, (len(x.shape) if x.shape is not None else None, None))]


@rule("Unique")
def _unique(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    axis = node.attrs.get("axis")
    y: Shape | None
    inverse: Shape
    if x.shape is None:
        y, inverse = (None if axis is not None else (None,)), (None,)
    elif axis is None:
        y, inverse = (None,), (product(x.shape),)
    else:
        axis = norm_axis(axis, len(x.shape))
        y = tuple(None if i == axis else d for i, d in enumerate(x.shape))
        inverse = (x.shape[axis],)
    infos = [(x.dtype, y), (DType.INT64, (None,)), (DType.INT64, inverse), (DType.INT64, (None,))]
    return infos[: len(node.outputs)]


@rule("NonMaxSuppression")
def _nms(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.INT64, (None, 3))]


@rule("ArrayFeatureExtractor", domain="ai.onnx.ml")
def _array_feature_extractor(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, idx = inputs[0], inputs[1]
    if x.shape is None or idx.shape is None:
        return [(x.dtype, None)]
    count = idx.shape[1] if len(idx.shape) == 2 and idx.shape[0] == 1 else product(idx.shape)
    if len(x.shape) == 1:
        return [(x.dtype, (1, count))]
    return [(x.dtype, (*x.shape[:-1], count))]
