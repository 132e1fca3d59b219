"""Rewrite an IR graph (channels-first, ONNX semantics) into MindSpore Lite's channels-last form.

MindSpore Lite's CPU runtime runs convolution (and its transpose), pooling,
LRN, batch norm, resize and the depth/space moves on NHWC data, as converter_lite lays them out.  Each such node is replaced
by a node of the marker domain :data:`NHWC_DOMAIN` that reads and writes
NHWC, between Transposes to and from NCHW; with ``input_format="NHWC"``
(converter_lite's default) 4-D model inputs become NHWC too.  Transposes are
then sunk and cancelled (:mod:`..transposes`), and every value is given the
``.ms`` ``format`` converter_lite would write.
"""
from __future__ import annotations

from litert.ir import Graph, Layout, Node

from .. import transposes
from ..transposes import NCHW_TO_NHWC, NHWC_TO_NCHW
from .types import Format

NHWC_DOMAIN = "litert.ms.nhwc"
#: IR op -> the input positions that carry NHWC data once rewritten
CHANNELS_LAST_OPS = {
    "Conv": [0],
    "MaxPool": [0],
    "AveragePool": [0],
    "GlobalAveragePool": [0],
    "GlobalMaxPool": [0],
    "LRN": [0],
    "BatchNormalization": [0],
    "ConvTranspose": [0],
    "Resize": [0],
    "DepthToSpace": [0],
    "SpaceToDepth": [0],
}


def _per_channel_prelu(node: Node, graph: Graph) -> bool:
    """A PRelu whose slope runs along the channel axis (MindSpore Lite's PReLU takes NHWC channels)."""
    slope = graph.values.get(node.inputs[1]) if len(node.inputs) > 1 else None
    if slope is None or slope.const is None or slope.const.size <= 1:
        return False
    shape = slope.const.shape
    return shape in ((slope.const.size, 1, 1), (1, slope.const.size, 1, 1))


#: ops that are channels-last only in some forms: op -> predicate
CONDITIONAL_OPS = {"PRelu": _per_channel_prelu}


def _nhwc_shape(shape):
    return None if shape is None or len(shape) != 4 else tuple(shape[i] for i in NCHW_TO_NHWC)


def to_channels_last(graph: Graph, input_format: str = "NHWC") -> None:
    """Rewrite ``graph`` in place (shapes must have been inferred)."""
    nodes: list[Node] = []
    if input_format == "NHWC":
        for name in graph.inputs:
            value = graph.values[name]
            if value.shape is None or len(value.shape) != 4 or value.layout is Layout.NHWC:
                continue
            internal = graph.unique_name(f"{name}_nchw")
            for node in graph.nodes:
                node.inputs = [internal if i == name else i for i in node.inputs]
            graph.outputs = [internal if o == name else o for o in graph.outputs]
            graph.values[internal].dtype = value.dtype
            graph.values[internal].shape = value.shape
            value.shape = _nhwc_shape(value.shape)
            value.layout = Layout.NHWC
            nodes.append(transposes.transpose_node(graph, name, NHWC_TO_NCHW, internal, name=f"{name}_to_nchw"))
    for node in graph.nodes:
        data = CHANNELS_LAST_OPS.get(node.op_type) if node.domain == "" else None
        if node.domain == "" and node.op_type in CONDITIONAL_OPS and CONDITIONAL_OPS[node.op_type](node, graph):
            data = [0]
        rank4 = data is not None and all(_rank(graph, node.inputs[i]) == 4 for i in data)
        if not rank4:
            nodes.append(node)
            continue
        old_shapes = [graph.values[o].shape if o in graph.values else None for o in node.outputs]
        marker = Node(node.op_type, list(node.inputs), list(node.outputs), dict(node.attrs), name=node.name,
                      domain=NHWC_DOMAIN)
        wrapped = transposes.wrap(graph, marker, data or [], NCHW_TO_NHWC, NHWC_TO_NCHW, outputs=[0])
        for out, shape in zip(marker.outputs[:1], old_shapes[:1]):
            graph.values[out].shape = _nhwc_shape(shape)
            graph.values[out].dtype = graph.values[node.inputs[0]].dtype
            graph.values[out].layout = Layout.NHWC
        nodes.extend(wrapped)
    graph.nodes = nodes
    transposes.optimize(graph)


def _rank(graph: Graph, name: str) -> int | None:
    value = graph.values.get(name)
    return None if value is None or value.shape is None else len(value.shape)


def formats(graph: Graph) -> dict[str, int]:
    """The ``.ms`` format of every value: NCHW downstream of a Transpose to NCHW or of a
    channels-first 4-D input, NHWC (converter_lite's usual mark) elsewhere."""
    fmt: dict[str, int] = {}
    for name in graph.inputs:
        value = graph.values[name]
        channels_first = value.shape is not None and len(value.shape) == 4 and value.layout is not Layout.NHWC
        fmt[name] = Format.NCHW if channels_first else Format.NHWC
    for node in graph.nodes:
        if node.domain == NHWC_DOMAIN:
            kind = Format.NHWC
        elif node.op_type == "Transpose" and tuple(node.attrs.get("perm", ())) == NHWC_TO_NCHW:
            kind = Format.NCHW
        elif node.op_type == "Transpose" and tuple(node.attrs.get("perm", ())) == NCHW_TO_NHWC:
            kind = Format.NHWC
        else:
            data = [fmt[i] for i in node.inputs if i in fmt and graph.values.get(i) is not None
                    and not graph.values[i].is_const]
            kind = data[0] if data else Format.NHWC
        for out in node.outputs:
            if out:
                fmt[out] = kind
        for i in node.inputs:  # constants take the layout of the node that reads them
            if i and i not in fmt and graph.values.get(i) is not None and graph.values[i].is_const:
                fmt[i] = kind
    return fmt
