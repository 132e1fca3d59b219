"""ONNX ``TypeProto`` <-> litert ``(kind, dtype, shape)``.

A tensor type maps to ``kind="tensor"``.  A sequence or an optional maps to
``kind="sequence"`` / ``"optional"`` with the dtype and shape of the innermost
tensor element (an optional sequence is ``"optional"``; its element kind is
not kept).  Maps and other non-tensor types keep ``kind="map"`` etc. and no
dtype.  Dims: ``dim_value`` -> int, ``dim_param`` -> str, neither -> None;
a missing shape (unknown rank) -> ``shape=None``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from litert.ir import DType, Shape, Value

if TYPE_CHECKING:  # the writer's side builds onnx's own classes, and imports onnx only when it runs
    from onnx import TypeProto, ValueInfoProto


class TypeInfo(NamedTuple):
    """An immutable triple (a NamedTuple: a frozen dataclass cost ~0.45 ms of every process's first load)."""

    kind: str = "tensor"
    dtype: DType | None = None
    shape: Shape | None = None


def dtype_from_code(code: int) -> DType | None:
    if not code:
        return None
    try:
        return DType(code)
    except ValueError:
        return None


def shape_from_proto(shape_proto) -> Shape:
    """A negative ``dim_value`` (Paddle's exporter writes a literal -1 batch) is unknown, as onnxruntime
    reads it; 0 stays a static zero size, as there too."""
    dims = []
    for d in shape_proto.dim:
        which = d.WhichOneof("value")
        if which == "dim_value":
            dims.append(d.dim_value if d.dim_value >= 0 else None)
        else:
            dims.append(d.dim_param if which == "dim_param" else None)
    return tuple(dims)


def _tensor_info(t, kind: str) -> TypeInfo:
    return TypeInfo(kind, dtype_from_code(t.elem_type), shape_from_proto(t.shape) if t.HasField("shape") else None)


def type_info(tp: TypeProto, kind: str | None = None) -> TypeInfo:
    """Describe ``tp``; ``kind`` forces the outer kind while recursing."""
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        return _tensor_info(tp.tensor_type, kind or "tensor")
    if which == "sparse_tensor_type":
        return _tensor_info(tp.sparse_tensor_type, kind or "tensor")
    if which == "sequence_type":
        return type_info(tp.sequence_type.elem_type, kind or "sequence")
    if which == "optional_type":
        return type_info(tp.optional_type.elem_type, kind or "optional")
    if which == "map_type":
        return TypeInfo(kind or "map")
    return TypeInfo(kind or "tensor")


def value_info_type(vi: ValueInfoProto) -> TypeInfo | None:
    return type_info(vi.type) if vi.HasField("type") else None


def _tensor_type_proto(dtype: DType | None, shape: Shape | None) -> TypeProto:
    from onnx import TensorProto, helper

    code = dtype.value if dtype is not None else TensorProto.UNDEFINED
    return helper.make_tensor_type_proto(code, None if shape is None else list(shape))


def type_proto(value: Value) -> TypeProto | None:
    """The TypeProto of an IR value, or None when nothing is known."""
    from onnx import helper

    if value.kind == "tensor":
        if value.dtype is None and value.shape is None:
            return None
        return _tensor_type_proto(value.dtype, value.shape)
    if value.kind == "sequence":
        return helper.make_sequence_type_proto(_tensor_type_proto(value.dtype, value.shape))
    if value.kind == "optional":
        return helper.make_optional_type_proto(_tensor_type_proto(value.dtype, value.shape))
    return None


def value_info(value: Value, name: str | None = None) -> ValueInfoProto:
    from onnx import ValueInfoProto

    vi = ValueInfoProto(name=name or value.name)
    tp = type_proto(value)
    if tp is not None:
        vi.type.CopyFrom(tp)
    return vi


# ---------------------------------------------------------------- TYPE_PROTO attributes


def type_attr_from_proto(tp: TypeProto) -> dict:
    """A TYPE_PROTO attribute as a small dict (``{"type": "tensor", "elem_type": 1, "shape": [...]}``)."""
    which = tp.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        t = getattr(tp, which)
        return {
            "type": "tensor" if which == "tensor_type" else "sparse_tensor",
            "elem_type": int(t.elem_type),
            "shape": list(shape_from_proto(t.shape)) if t.HasField("shape") else None,
        }
    if which == "sequence_type":
        return {"type": "sequence", "elem": type_attr_from_proto(tp.sequence_type.elem_type)}
    if which == "optional_type":
        return {"type": "optional", "elem": type_attr_from_proto(tp.optional_type.elem_type)}
    if which == "map_type":
        m = tp.map_type
        return {"type": "map", "key_type": int(m.key_type), "elem": type_attr_from_proto(m.value_type)}
    return {"type": "undefined"}


def type_attr_to_proto(desc: dict) -> TypeProto:
    from onnx import TypeProto, helper

    kind = desc.get("type")
    if kind == "tensor":
        return helper.make_tensor_type_proto(desc.get("elem_type", 0), desc.get("shape"))
    if kind == "sparse_tensor":
        return helper.make_sparse_tensor_type_proto(desc.get("elem_type", 0), desc.get("shape"))
    if kind == "sequence":
        return helper.make_sequence_type_proto(type_attr_to_proto(desc["elem"]))
    if kind == "optional":
        return helper.make_optional_type_proto(type_attr_to_proto(desc["elem"]))
    if kind == "map":
        return helper.make_map_type_proto(desc["key_type"], type_attr_to_proto(desc["elem"]))
    return TypeProto()
