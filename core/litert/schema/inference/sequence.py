"""Sequences and optionals.  A sequence/optional value carries the dtype and
shape of its (tensor) elements and ``kind="sequence"``/``"optional"``; the
element shape merges the shapes of all elements (dims that differ are
unknown).  How many elements a sequence holds is not part of its type."""
from __future__ import annotations

from ...ir import DType, Graph, Node, Shape
from ._base import UNKNOWN, Info, Inputs, arg, attr_dtype, const, is_omitted, merge_shape, norm_axis, rule, scalar_rule, shaped_rule

SEQ, OPT = "sequence", "optional"


@rule("SequenceEmpty")
def _empty(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(attr_dtype(node, "dtype", DType.FLOAT32), None, SEQ)]


@rule("SequenceConstruct")
def _construct(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    shape = inputs[0].shape
    for v in inputs[1:]:
        shape = merge_shape(shape, v.shape)
    return [(inputs[0].dtype, shape, SEQ)]


@rule("SequenceInsert")
def _insert(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    seq, tensor = inputs[0], inputs[1]
    if _empty_sequence(node.inputs[0], graph):
        shape = tensor.shape  # the first element decides
    else:
        shape = merge_shape(seq.shape, tensor.shape)
    return [(seq.dtype or tensor.dtype, shape, SEQ)]


def _empty_sequence(name: str, graph: Graph) -> bool:
    producer = next((n for n in graph.nodes if name in n.outputs), None)
    return producer is not None and producer.op_type == "SequenceEmpty" and producer.domain == ""


@rule("SequenceErase")
def _erase(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(inputs[0].dtype, inputs[0].shape, SEQ)]


@rule("SequenceAt")
def _at(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(inputs[0].dtype, inputs[0].shape, "tensor")]


scalar_rule("SequenceLength", dtype=DType.INT64)


@rule("SplitToSequence")
def _split_to_sequence(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        return [(x.dtype, None, SEQ)]
    axis = norm_axis(node.attrs.get("axis", 0), len(x.shape))
    size = x.shape[axis]
    if is_omitted(node, 1):  # one element per index along axis
        if node.attrs.get("keepdims", 1):
            return [(x.dtype, (*x.shape[:axis], 1, *x.shape[axis + 1:]), SEQ)]
        return [(x.dtype, (*x.shape[:axis], *x.shape[axis + 1:]), SEQ)]
    split = const(inputs, 1)
    if split is None:
        part = None
    elif split.ndim == 0:  # chunks of this size; the last may be shorter
        chunk = int(split)
        part = chunk if isinstance(size, int) and size % chunk == 0 else None
    else:
        sizes = {int(s) for s in split.reshape(-1)}
        part = sizes.pop() if len(sizes) == 1 else None
    return [(x.dtype, (*x.shape[:axis], part, *x.shape[axis + 1:]), SEQ)]


@shaped_rule("ConcatFromSequence")
def _concat_from_sequence(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    seq = inputs[0]
    out = list(shape)
    if node.attrs.get("new_axis", 0):
        out.insert(norm_axis(node.attrs["axis"], len(out) + 1), None)
    else:
        out[norm_axis(node.attrs["axis"], len(out))] = None
    return [(seq.dtype, tuple(out))]


@rule("Optional")
def _optional(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    v = arg(inputs, 0)
    if v is not None:
        return [(v.dtype, v.shape, OPT)]
    described = node.attrs.get("type") or {}
    while described.get("type") in (SEQ, OPT):
        described = described.get("elem") or {}
    if described.get("type") != "tensor":
        return [(None, None, OPT)]
    code, shape = described.get("elem_type"), described.get("shape")
    return [(DType(code) if code else None, tuple(shape) if shape is not None else None, OPT)]


scalar_rule("OptionalHasElement", dtype=DType.BOOL)


@rule("OptionalGetElement")
def _get_element(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    v = inputs[0]
    if v.kind != OPT:
        return [(v.dtype, v.shape, v.kind)]  # a tensor or sequence passes through
    kind = _element_kind(node.inputs[0], graph)
    return [(v.dtype, v.shape, kind)] if kind is not None else [UNKNOWN]


def _element_kind(name: str, graph: Graph) -> str | None:
    """Whether an optional holds a tensor or a sequence, when its producer tells
    (the IR keeps only ``kind="optional"`` for both)."""
    producer = next((n for n in graph.nodes if name in n.outputs), None)
    if producer is None or producer.op_type != "Optional" or producer.domain != "":
        return None
    if producer.inputs and producer.inputs[0]:
        element = graph.values.get(producer.inputs[0])
        return element.kind if element is not None and element.dtype is not None and element.kind != OPT else None
    described = producer.attrs.get("type") or {}
    return {"tensor": "tensor", SEQ: SEQ}.get(str(described.get("type")))
