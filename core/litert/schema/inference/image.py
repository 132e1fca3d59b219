"""Spatial rearrangement of images: Resize/Upsample, DepthToSpace,
SpaceToDepth, CenterCropPad, GridSample, AffineGrid, Col2Im."""
from __future__ import annotations

import math

from ...ir import Dim, Graph, Node, Shape
from ._base import Info, Inputs, arg, const, dtype_of, ints, is_omitted, like, norm_axis, product, rule, shape_of, shaped_rule


def _scaled(size: Dim, scale: float) -> Dim:
    """``floor(size * scale)`` in double precision, as ONNX's reference computes it."""
    if isinstance(size, int):
        return int(math.floor(size * float(scale)))
    return size if float(scale) == 1.0 else None


@shaped_rule("Resize")
def _resize(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    rank = len(shape)
    axes = [norm_axis(a, rank) for a in (node.attrs.get("axes") or range(rank))]
    sizes = None if is_omitted(node, 3) else ints(inputs, 3)
    scales = None if is_omitted(node, 2) else const(inputs, 2)
    out = list(shape)
    if sizes:
        policy = node.attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy == "stretch":
            for a, s in zip(axes, sizes):
                out[a] = s
        else:
            dims = [shape[a] for a in axes]
            if not all(isinstance(d, int) and d for d in dims):
                return [(x.dtype, tuple(None if i in axes else d for i, d in enumerate(shape)))]
            ratios = [s / d for s, d in zip(sizes, dims)]
            scale = min(ratios) if policy == "not_larger" else max(ratios)
            for a, d in zip(axes, dims):
                out[a] = int(scale * d + 0.5)
        return [(x.dtype, tuple(out))]
    if scales is not None and scales.size:
        for a, s in zip(axes, scales.reshape(-1)):
            out[a] = _scaled(shape[a], s)
        return [(x.dtype, tuple(out))]
    return [(x.dtype, tuple(None if i in axes else d for i, d in enumerate(shape)))]


@shaped_rule("Upsample")
def _upsample(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x, scales = inputs[0], const(inputs, 1)
    if scales is None:
        return [(x.dtype, (None,) * len(shape))]
    return [(x.dtype, tuple(_scaled(d, s) for d, s in zip(shape, scales.reshape(-1))))]


def _div(d: Dim, b: int) -> Dim:
    return d // b if isinstance(d, int) else None


def _mul(d: Dim, b: int) -> Dim:
    return d * b if isinstance(d, int) else None


@rule("DepthToSpace", "SpaceToDepth")
def _depth_space(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    """DepthToSpace moves ``b*b`` channels into a ``b x b`` block of pixels; SpaceToDepth does the reverse."""
    x, b = inputs[0], node.attrs["blocksize"]
    if x.shape is None or len(x.shape) != 4:
        return [like(x)]
    n, c, h, w = x.shape
    if node.op_type == "DepthToSpace":
        return [(x.dtype, (n, _div(c, b * b), _mul(h, b), _mul(w, b)))]
    return [(x.dtype, (n, _mul(c, b * b), _div(h, b), _div(w, b)))]


@shaped_rule("CenterCropPad")
def _center_crop_pad(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x, target = inputs[0], ints(inputs, 1)
    rank = len(shape)
    axes = [norm_axis(a, rank) for a in (node.attrs.get("axes") or range(rank))]
    out = list(shape)
    for i, a in enumerate(axes):
        out[a] = target[i] if target is not None else None
    return [(x.dtype, tuple(out))]


@rule("GridSample")
def _grid_sample(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, grid = inputs[0], inputs[1]
    if x.shape is None or grid.shape is None:
        return [(x.dtype, None if x.shape is None else (None,) * len(x.shape))]
    return [(x.dtype, (x.shape[0], x.shape[1], *grid.shape[1:-1]))]


@rule("AffineGrid")
def _affine_grid(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    theta, size = inputs[0], ints(inputs, 1)
    if size is None:
        n = shape_of(arg(inputs, 1))
        if n and isinstance(n[0], int):  # (N, C, *spatial) -> (N, *spatial, len(spatial))
            return [(dtype_of(theta), (None,) * (n[0] - 1) + (n[0] - 2,))]
        return [(dtype_of(theta), None)]
    spatial = size[2:]
    return [(dtype_of(theta), (size[0], *spatial, len(spatial)))]


@rule("Col2Im")
def _col2im(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, image, block = inputs[0], ints(inputs, 1), ints(inputs, 2)
    if x.shape is None or image is None:
        return [(x.dtype, None)]
    channels = None
    if block is not None and isinstance(x.shape[1], int):
        channels = x.shape[1] // product(block)
    return [(x.dtype, (x.shape[0], channels, *image))]
