"""One table of the primitives whose mapping to an ONNX operator is a rename, read and written from it both.

A row (:class:`Op`) says which ONNX op a MindSpore Lite primitive is, which
inputs it takes, which of them the IR wants int64 (``.ms`` files store int32),
and each attribute as a primitive field <-> ONNX attribute pair with its
converter in each direction (:class:`Attr`).  :func:`.read_ops.read_row` and
:func:`.write_ops.write_row` interpret a row and their registries hold one per
row, beside hand-written functions for the primitives whose mapping is
structural (layout changes, constants that become attributes, ops that split
or merge), which take precedence over a row in that direction.  A primitive with an
``activation_type`` field fuses the activation (``ms_activation`` on the IR
node when written; a separate activation node when read).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .schema import SCHEMA
from .types import Format


def text(value: Any, default: str) -> str:
    """A string attribute as ``str`` (ONNX's are bytes), ``default`` when absent."""
    value = default if value is None else value
    return value.decode() if isinstance(value, bytes) else value


def _flag(value: Any) -> bool:
    return bool(int(value))


def _int_flag(value: Any) -> int:
    return int(bool(value))


@dataclass(frozen=True)
class Attr:
    """Primitive field ``field`` <-> ONNX attribute ``onnx``.  Written: ``to_ms`` of the node's value (``default``
    when it has none; None: the attribute is required); ``onnx`` None writes ``default`` as it is and reads
    nothing.  Read: ``to_onnx`` of the field.  ``input``: the primitive holds the value as a constant int32 [1]
    input at that position (named ``field``; read as ``default`` when the file leaves it out), not a field."""

    field: str
    onnx: str | None
    default: Any = None
    to_ms: Callable[[Any], Any] = int
    to_onnx: Callable[[Any], Any] = int
    input: int | None = None


@dataclass(frozen=True)
class Op:
    """A primitive that is one ONNX op.  ``inputs``: how many (None: all, variadic), the last ``optional`` of
    them may be absent; ``int64``/``int_outputs``: inputs / outputs the IR has int64 and the file int32;
    ``onnx_fixed``: attributes the read op always gets; ``only``: ONNX attributes the primitive cannot express
    but at this value (writing refuses another); ``channels_last``: data in the layout of the ``format`` field
    (read with transposes around it, written from the NHWC domain)."""

    primitive: str
    onnx: str
    attrs: tuple[Attr, ...] = ()
    inputs: int | None = 1
    optional: int = 0
    outputs: int = 1
    int64: tuple[int, ...] = ()
    int_outputs: tuple[int, ...] = ()
    onnx_fixed: dict = field(default_factory=dict)
    only: dict = field(default_factory=dict)
    channels_last: bool = False

    @property
    def fused(self) -> bool:
        return "activation_type" in SCHEMA.fields[self.primitive]


def _op(primitive: str, onnx: str, *attrs: Attr, **kw) -> Op:
    return Op(primitive, onnx, attrs, **kw)


_AXIS_0, _AXIS_LAST = Attr("axis", "axis", 0), Attr("axis", "axis", -1)
_BLOCK = Attr("block_size", "blocksize"), Attr("format", None, Format.NHWC)

#: elementwise primitives on one input and on two, as (primitive, ONNX op)
_UNARY = (("Abs", "Abs"), ("Neg", "Neg"), ("Sqrt", "Sqrt"), ("Erf", "Erf"), ("Log", "Log"), ("Sin", "Sin"),
          ("Cos", "Cos"), ("Floor", "Floor"), ("Ceil", "Ceil"), ("Round", "Round"), ("Reciprocal", "Reciprocal"),
          ("LogicalNot", "Not"))
_BINARY = (("AddFusion", "Add"), ("SubFusion", "Sub"), ("MulFusion", "Mul"), ("DivFusion", "Div"),
           ("Equal", "Equal"), ("Less", "Less"), ("LessEqual", "LessOrEqual"), ("Greater", "Greater"),
           ("GreaterEqual", "GreaterOrEqual"), ("LogicalAnd", "And"), ("LogicalOr", "Or"),
           # read only: the writer has the rows above (and Max/Min as Maximum/Minimum chains)
           ("RealDiv", "Div"), ("Maximum", "Max"), ("Minimum", "Min"), ("BiasAdd", "Add"))

#: the rows; where two share an ONNX op the first is what the writer writes.  Read by hand (read_ops): Where,
#: BroadcastTo, OneHot, TopKFusion, ArgMax/MinFusion, Range, and PowFusion, ExpFusion and MatMulFusion, whose
#: fields the writer leaves at their defaults; written by hand (write_ops): Flatten, LayerNormalization (a
#: missing B made zeros), Reshape (allowzero checked), and Mod and Trilu pick their row by an attribute
TABLE: tuple[Op, ...] = (
    *(_op(primitive, onnx) for primitive, onnx in _UNARY),
    *(_op(primitive, onnx, inputs=2) for primitive, onnx in _BINARY),
    _op("FloorMod", "Mod", inputs=2),
    _op("Mod", "Mod", inputs=2, onnx_fixed={"fmod": 1}),
    _op("Softmax", "Softmax", Attr("axis", "axis", -1, lambda v: [int(v)],
                                   lambda v: int(v[0]) if v is not None and len(v) else -1)),
    _op("LogSoftmax", "LogSoftmax", _AXIS_LAST),
    _op("Concat", "Concat", _AXIS_0, inputs=None),
    _op("Flatten", "Flatten", Attr("axis", "axis", 1)),
    _op("InstanceNorm", "InstanceNormalization", Attr("epsilon", "epsilon", 1e-5, float, float), inputs=3),
    _op("CumSum", "CumSum", Attr("exclusive", "exclusive", 0, _flag, _int_flag),
        Attr("reverse", "reverse", 0, _flag, _int_flag), inputs=2, int64=(1,)),
    _op("TileFusion", "Tile", inputs=2, int64=(1,)),
    _op("BroadcastTo", "Expand", inputs=2),
    _op("Where", "Where", inputs=3),
    _op("Shape", "Shape", int_outputs=(0,), only={"start": 0, "end": None}),
    _op("GatherNd", "GatherND", inputs=2, int64=(1,)),
    _op("ScatterNdUpdate", "ScatterND", inputs=3, int64=(1,), only={"reduction": "none"}),
    _op("ScatterElements", "ScatterElements", _AXIS_0, inputs=3, int64=(1,), only={"reduction": "none"}),
    _op("OneHot", "OneHot", _AXIS_LAST, inputs=3, int64=(1,)),
    _op("Triu", "Trilu", inputs=2, optional=1, int64=(1,), onnx_fixed={"upper": 1}),
    _op("Tril", "Trilu", inputs=2, optional=1, int64=(1,), onnx_fixed={"upper": 0}),
    _op("NonMaxSuppression", "NonMaxSuppression", Attr("center_point_box", "center_point_box", 0), inputs=None,
        int64=(2,), int_outputs=(0,)),
    _op("TopKFusion", "TopK", Attr("sorted", "sorted", 1, _flag, _int_flag), _AXIS_LAST, Attr("largest", None, 1),
        inputs=2, outputs=2, only={"largest": 1}),
    *(_op(primitive, onnx, Attr("axis", "axis", 0), Attr("top_k", None, 1),
          Attr("keep_dims", "keepdims", 1, _flag, _int_flag), Attr("out_max_value", None, False),
          only={"select_last_index": 0}) for primitive, onnx in (("ArgMaxFusion", "ArgMax"), ("ArgMinFusion", "ArgMin"))),
    _op("Range", "Range", inputs=3),
    _op("Reshape", "Reshape", inputs=2, int64=(1,)),
    _op("LayerNormFusion", "LayerNormalization", Attr("begin_norm_axis", "axis", -1),
        Attr("epsilon", "epsilon", 1e-5, float, float), inputs=3, optional=1),
    _op("Gather", "Gather", Attr("axis", "axis", 0, input=2), inputs=2),
    _op("GatherD", "GatherElements", Attr("dim", "axis", 0, input=1), inputs=2, int64=(2,)),
    _op("PowFusion", "Pow", Attr("scale", None, 1.0), Attr("shift", None, 0.0), inputs=2),
    _op("ExpFusion", "Exp", Attr("base", None, -1.0), Attr("scale", None, 1.0), Attr("shift", None, 0.0)),
    _op("MatMulFusion", "MatMul", Attr("transpose_a", None, False), Attr("transpose_b", None, False), inputs=2),
    _op("DepthToSpace", "DepthToSpace", *_BLOCK, Attr("mode", "mode", "DCR", lambda v: text(v, "DCR"),
                                                      lambda v: v or "DCR"), channels_last=True),
    _op("SpaceToDepth", "SpaceToDepth", *_BLOCK, channels_last=True),
)
BY_PRIMITIVE = {op.primitive: op for op in TABLE}
BY_ONNX: dict[str, Op] = {}
for _row in TABLE:
    BY_ONNX.setdefault(_row.onnx, _row)
