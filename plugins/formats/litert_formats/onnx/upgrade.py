"""Bring default-domain nodes from their model's opset to the latest operator form.

The core's operator set is the latest ONNX semantics.  A node read at an
older opset is first given the defaults of the schema version in force
(old defaults differ), then walked through every later schema version of its
operator; where the form or meaning changed, the adapter registered for
``(op_type, version)`` rewrites it into that version's form.  Versions with
no entry changed only types or added attributes whose defaults keep the old
behaviour (``schemas().complete_attrs`` fills them afterwards).

An adapter may rename the operator (Upsample -> Resize, Scatter ->
ScatterElements); the walk then continues through the new operator's
versions after the one reached.
"""
from __future__ import annotations

from collections.abc import Callable

from litert.ir import Node
from litert.schema import schemas

from . import adapters as a
from .builder import Builder

Adapter = Callable[[Builder, Node], "list[Node] | None"]

_BROADCAST_OPS = ("Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less")
_REDUCE_18 = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
              "ReduceMin", "ReduceProd", "ReduceSumSquare")

#: (op_type, version) -> adapter bringing a node of the previous version to ``version``'s form.
ADAPTERS: dict[tuple[str, int], Adapter] = {
    # shape manipulation: attributes became inputs
    ("Reshape", 5): a.reshape_5,
    ("Squeeze", 13): a.attr_to_input(1, "axes"),
    ("Unsqueeze", 13): a.attr_to_input(1, "axes"),
    ("Slice", 10): a.slice_10,
    ("Split", 2): a.split_2,
    ("Split", 13): a.split_13,
    ("Split", 18): a.split_18,
    ("Tile", 6): a.tile_6,
    ("Concat", 4): a.set_default("axis", 1),
    ("Pad", 2): a.pad_2,
    ("Pad", 11): a.pad_11,
    ("Clip", 11): a.clip_11,
    ("TopK", 10): a.topk_10,
    ("ReduceSum", 13): a.attr_to_input(1, "axes"),
    **{(op, 18): a.attr_to_input(1, "axes") for op in _REDUCE_18},
    ("Cast", 6): a.cast_6,
    ("DFT", 20): a.dft_20,
    # numpy broadcasting replaced broadcast/axis
    **{(op, 7): a.legacy_broadcast for op in _BROADCAST_OPS},
    ("Gemm", 7): a.drop_attrs("broadcast"),
    ("PRelu", 7): a.prelu_7,
    # normalisation, dropout
    ("BatchNormalization", 9): a.batchnorm_9,
    ("BatchNormalization", 14): a.batchnorm_14,
    ("GroupNormalization", 21): a.group_norm_21,
    ("Dropout", 10): a.dropout_10,
    ("Dropout", 12): a.dropout_12,
    # 2-D coercion -> per-axis
    ("Softmax", 13): a.softmax_13,
    ("LogSoftmax", 13): a.softmax_13,
    ("Hardmax", 13): a.softmax_13,
    # resizing
    ("Upsample", 7): a.upsample_7,
    ("Upsample", 9): a.upsample_9,
    ("Upsample", 10): a.rename_op("Resize"),
    ("Resize", 11): a.resize_11,
    ("Resize", 13): a.resize_13,
    ("GridSample", 20): a.rename_values("mode", {"bilinear": "linear", "bicubic": "cubic"}),
    ("RoiAlign", 16): a.roialign_16,
    # pooling: p was a float
    ("LpPool", 2): a.float_to_int("p"),
    ("GlobalLpPool", 2): a.float_to_int("p"),
    # misc
    ("GRU", 3): a.rename_values("direction", {"foward": "forward"}),
    ("Scan", 9): a.scan_9,
    ("Scatter", 11): a.rename_op("ScatterElements"),
}

#: Experimental operators (opsets < 10) gone from the registry, rewritten into current ones.
LEGACY: dict[str, Adapter] = {
    "ImageScaler": a.image_scaler,
    "Affine": a.affine,
    "Scale": a.scale,
    "ScaledTanh": a.scaled_tanh,
    "ParametricSoftplus": a.parametric_softplus,
    "ThresholdedRelu": a.thresholded_relu_experimental,
    "DynamicSlice": a.dynamic_slice,
}


def _index(nodes: list[Node], node: Node) -> int:
    return next(i for i, n in enumerate(nodes) if n is node)


def upgrade(b: Builder, node: Node, since: int) -> list[Node]:
    """Rewrite ``node`` (form of schema version ``since``) into the latest form."""
    out = [node]
    reg = schemas()
    # A deprecated version in force (Upsample-10, Scatter-11) is renamed by the adapter of its own version.
    first = since if reg.get(node.domain, node.op_type, since).deprecated else since + 1
    while True:
        op = node.op_type
        renamed = False
        for version in [s.since for s in reg.versions(node.domain, op) if s.since >= first]:
            since = version
            adapter = ADAPTERS.get((op, version))
            if adapter is None:
                continue
            result = adapter(b, node)
            if result is not None:
                i = _index(out, node)
                out[i : i + 1] = result
                if not any(n is node for n in result):
                    return out
            if node.op_type != op:
                renamed, first = True, since + 1
                break
        if not renamed:
            return out
