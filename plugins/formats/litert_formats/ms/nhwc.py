"""Rewrite an IR graph (channels-first, ONNX semantics) into MindSpore Lite's channels-last form.

MindSpore Lite's CPU runtime runs convolution (and its transpose), pooling,
LRN, batch norm, resize and the depth/space moves on NHWC data, as converter_lite lays them out.  Each such node is replaced
by a node of the marker domain :data:`NHWC_DOMAIN` that reads and writes
NHWC, between Transposes to and from NCHW; with ``input_format="NHWC"``
(converter_lite's default) 4-D model inputs become NHWC too (the rewrite is
:func:`..transposes.to_channels_last`; this module says which operators), and
every value is given the ``.ms`` ``format`` converter_lite would write.
"""
from __future__ import annotations

from litert.ir import Graph, Layout, Node

from .. import transposes
from ..transposes import NCHW_TO_NHWC, NHWC_TO_NCHW
from .types import Format

NHWC_DOMAIN = "litert.ms.nhwc"
#: IR ops MindSpore Lite runs channels-last: their data (input 0) is NHWC once rewritten
CHANNELS_LAST_OPS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN", "BatchNormalization",
                     "ConvTranspose", "Resize", "DepthToSpace", "SpaceToDepth"}


def _per_channel_prelu(node: Node, graph: Graph) -> bool:
    """A PRelu whose slope runs along the channel axis (MindSpore Lite's PReLU takes NHWC channels)."""
    slope = graph.values.get(node.inputs[1]) if len(node.inputs) > 1 else None
    if slope is None or slope.const is None or slope.const.size <= 1:
        return False
    shape = slope.const.shape
    return shape in ((slope.const.size, 1, 1), (1, slope.const.size, 1, 1))


#: ops that are channels-last only in some forms: op -> predicate
CONDITIONAL_OPS = {"PRelu": _per_channel_prelu}


def _data_inputs(node: Node, graph: Graph) -> list[int] | None:
    """The NHWC data inputs of ``node`` when MindSpore Lite runs it channels-last, else None."""
    if node.domain != "":
        return None
    if node.op_type in CHANNELS_LAST_OPS or node.op_type in CONDITIONAL_OPS and CONDITIONAL_OPS[node.op_type](node, graph):
        return [0]
    return None


def to_channels_last(graph: Graph, input_format: str = "NHWC") -> None:
    """Rewrite ``graph`` in place (shapes must have been inferred): :func:`..transposes.to_channels_last`."""
    transposes.to_channels_last(graph, _data_inputs, NHWC_DOMAIN, nhwc_inputs=input_format == "NHWC")


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
