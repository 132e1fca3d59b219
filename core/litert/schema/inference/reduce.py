"""Reductions: Reduce*, ArgMax/ArgMin, TopK, and the losses that reduce."""
from __future__ import annotations

from collections.abc import Iterable

from ...ir import DType, Graph, Node, Shape, Value
from ._base import Info, Inputs, arg, dtype_of, ints, is_omitted, norm_axis, rule, shape_of, shaped_rule

REDUCE_OPS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


def reduced(shape: Shape, axes: Iterable[int], keepdims: bool) -> Shape:
    rank = len(shape)
    chosen = {norm_axis(a, rank) for a in axes}
    return tuple(1 if i in chosen else d for i, d in enumerate(shape) if keepdims or i not in chosen)


@shaped_rule(*REDUCE_OPS)
def _reduce(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    keep = node.attrs.get("keepdims", 1)
    axes: list[int] | None = []
    if not is_omitted(node, 1):
        axes = ints(inputs, 1)
        if axes is None:  # which axes is data: with keepdims the rank is still known
            return [(x.dtype, tuple(1 if d == 1 else None for d in shape) if keep else None)]
    if not axes:
        if node.attrs.get("noop_with_empty_axes", 0):
            return [(x.dtype, shape)]
        axes = list(range(len(shape)))
    return [(x.dtype, reduced(shape, axes, keep))]


@rule("ArgMax", "ArgMin")
def _arg_reduce(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        return [(DType.INT64, None)]
    return [(DType.INT64, reduced(x.shape, [node.attrs.get("axis", 0)], node.attrs.get("keepdims", 1)))]


@rule("TopK")
def _topk(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, k = inputs[0], ints(inputs, 1)
    if x.shape is None:
        return [(x.dtype, None), (DType.INT64, None)]
    axis = norm_axis(node.attrs.get("axis", -1), len(x.shape))
    shape = list(x.shape)
    shape[axis] = k[0] if k else None
    return [(x.dtype, tuple(shape)), (DType.INT64, tuple(shape))]


def _loss_shape(node: Node, target: Value | None) -> Shape | None:
    if node.attrs.get("reduction", "mean") != "none":
        return ()
    return shape_of(target)


@rule("SoftmaxCrossEntropyLoss")
def _softmax_ce(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    scores = inputs[0]
    return [(scores.dtype, _loss_shape(node, inputs[1])), (scores.dtype, scores.shape)][: len(node.outputs)]


@rule("NegativeLogLikelihoodLoss")
def _nll(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), _loss_shape(node, arg(inputs, 1)))]
