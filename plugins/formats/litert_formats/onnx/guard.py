"""What the ``onnx`` C++ helpers must never see.

``onnx.shape_inference`` and the inliner are C++ code that asserts on some
malformed inputs: an assertion failure aborts the whole process (SIGABRT),
which no ``try`` catches.  A Slice over an input declared with a negative
dimension is enough.  So before any of them runs, :func:`check_model`
refuses what no valid model contains (negative tensor dims, node names and
value names that are not text) with a :class:`ModelLoadError`, and
:func:`clear_negative_dims` turns negative declared dims of value types
into unknown dims (some old exporters wrote ``-1`` for "dynamic"; onnx
itself never produces them).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from litert.errors import ModelLoadError

from ..text_fields import first_bad_text
from .onnx_ml_pb2 import AttributeProto, GraphProto, ModelProto, TensorProto, TypeProto

A = AttributeProto


def node_graphs(node) -> list[GraphProto]:
    """The graphs ``node``'s attributes hold (an If's branches, a Loop's body), not the graphs inside them."""
    found: list[GraphProto] = []
    for attr in node.attribute:
        kind = attr.type  # read first: ``attr.graphs`` of every other attribute would build an empty container
        if kind == A.GRAPH:
            found.append(attr.g)
        elif kind == A.GRAPHS:
            found += attr.graphs
    return found


def subgraphs(graph) -> Iterator[GraphProto]:
    """Every graph held by a node attribute of ``graph``, recursively."""
    for node in graph.node:
        for sub in node_graphs(node):
            yield sub
            yield from subgraphs(sub)


def bodies(model: ModelProto) -> Iterator:
    """The main graph (first), model-local functions, and every subgraph inside them (anything with nodes)."""
    for body in [model.graph, *model.functions]:
        yield body
        yield from subgraphs(body)


class Contents:
    """What the checks look at in ``model``, found in one walk over every node's attributes (a walk is ~0.3 ms
    of a model of 300 nodes: every upb field read builds a Python object).

    ``bodies``: as :func:`bodies` gives them; ``tensors``: every tensor, by body in that order, each body's
    initializers first, then those of its node attributes; ``types``: the ``TypeProto`` of every node's type
    attributes."""

    def __init__(self, model: ModelProto) -> None:
        self.model = model
        self.bodies: list = []
        self.types: list[TypeProto] = []
        tensors: list[list[TensorProto]] = []
        for body in [model.graph, *model.functions]:
            self._walk(body, tensors)
        self.tensors = [t for body_tensors in tensors for t in body_tensors]

    def _walk(self, body, tensors: list[list[TensorProto]]) -> None:
        own = list(getattr(body, "initializer", ()))
        own += [sp.values for sp in getattr(body, "sparse_initializer", ())]
        self.bodies.append(body)
        tensors.append(own)
        for node in body.node:
            for attr in node.attribute:
                kind = attr.type
                if kind == A.GRAPH:
                    self._walk(attr.g, tensors)
                elif kind == A.GRAPHS:
                    for sub in attr.graphs:
                        self._walk(sub, tensors)
                elif kind == A.TENSOR:
                    own.append(attr.t)
                elif kind == A.TENSORS:
                    own += attr.tensors
                elif kind == A.SPARSE_TENSOR:
                    own.append(attr.sparse_tensor.values)
                elif kind == A.SPARSE_TENSORS:
                    own += [s.values for s in attr.sparse_tensors]
                elif kind == A.TYPE_PROTO:
                    self.types.append(attr.tp)
                elif kind == A.TYPE_PROTOS:
                    self.types += attr.type_protos

    def external_data(self) -> bool:
        """Whether some tensor's data is in an external file."""
        return any(tensor.data_location == TensorProto.EXTERNAL for tensor in self.tensors)


def check_model(contents: Contents, path: Path) -> None:
    """Refuse tensors with negative dims and names that are not valid text, anywhere in the model, and tensors
    whose data is too short for their dims (but the large initializers of the main graph: see below)."""
    model = contents.model
    bad = None if type(model) is ModelProto else first_bad_text(model)  # litert's own parser verified them
    if bad:
        raise ModelLoadError(f"{path}: {bad} is not valid UTF-8 text")
    deferred = len(model.graph.initializer)  # the main graph's come first
    for position, tensor in enumerate(contents.tensors):
        dims = tensor.dims
        if dims and min(dims) < 0:
            raise ModelLoadError(f"{path}: tensor {tensor.name!r} has negative dimensions {list(dims)}")
        if position < deferred and large(tensor):
            # shape inference gets a copy without these (typed inputs instead), and their one conversion
            # (``attributes.tensor_to_array``, ``held_array``) checks the size on the bytes it reads anyway:
            # checking here would copy every weight of the model once more (or, for ``litert.load``, find
            # none: their raw_data stays in the file)
            continue
        problem = data_size_problem(tensor)
        if problem:
            raise ModelLoadError(f"{path}: {problem}")


#: tensors above this many declared elements are not given to onnx's shape inference (the reader's copy for it
#: holds typed inputs instead), so their data size is checked where they are converted
INFERENCE_STRIP_ELEMENTS = 4096


def large(tensor: TensorProto) -> bool:
    """Whether the reader leaves ``tensor`` (an initializer or a Constant's value) out of shape inference, and
    a main-graph initializer's ``raw_data`` out of the message ``litert.load`` parses (:mod:`.wire`)."""
    return large_dims(tensor.dims)


def large_dims(dims) -> bool:
    """:func:`large` of a tensor of these dims."""
    return math.prod(dims) > INFERENCE_STRIP_ELEMENTS  # exact: the dims of a proto are Python ints


_NOT_INT32 = {
    TensorProto.FLOAT: "float_data", TensorProto.COMPLEX64: "float_data", TensorProto.DOUBLE: "double_data",
    TensorProto.COMPLEX128: "double_data", TensorProto.INT64: "int64_data", TensorProto.UINT32: "uint64_data",
    TensorProto.UINT64: "uint64_data", TensorProto.STRING: "string_data",
}
#: element type -> the field holding its values when there is no ``raw_data``: the one ``numpy_helper.to_array``
#: reads (``onnx.helper.tensor_dtype_to_field``), ``int32_data`` for all but the types above
VALUE_FIELDS: dict[int, str] = {code: _NOT_INT32.get(code, "int32_data")
                                for code in TensorProto.DataType.values() if code != TensorProto.UNDEFINED}
_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def _entries(tensor: TensorProto) -> int:
    """How many entries hold ``tensor``'s data: bytes of ``raw_data``, else values of the field its element type
    is read from (of the longest typed field for a type ONNX does not define)."""
    if tensor.HasField("raw_data"):
        return len(tensor.raw_data)
    field = VALUE_FIELDS.get(tensor.data_type)
    if field is not None:
        return len(getattr(tensor, field))
    return max(len(getattr(tensor, f)) for f in _TYPED_FIELDS)


#: element type -> the most elements one entry (a byte of ``raw_data``, a value of the typed field) holds, where
#: it is more than one: 2-bit types pack four per byte or per int32, everything else at most two (4-bit types)
_PER_ENTRY = {TensorProto.INT2: 4, TensorProto.UINT2: 4}


def data_size_problem(tensor: TensorProto, entries: int | None = None) -> str | None:
    """Why ``tensor``'s dims promise far more elements than its data holds, else None.

    Converting one (``numpy_helper.to_array``) would allocate what the dims
    say before noticing, gigabytes for a few bytes of file.  An entry holds
    at most :data:`_PER_ENTRY` elements (two for the other types: 4-bit
    ones pack two per byte or per int32), so more is impossible.  Tensors in
    external files are checked when their data is read.  ``entries``: the
    length of the field the caller decodes (``raw_data`` or the typed field),
    when it has it (reading ``raw_data`` copies it); else :func:`_entries`."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return None
    dims = tensor.dims
    elements = math.prod(dims)  # exact: the dims of a proto are Python ints
    if entries is None:
        entries = _entries(tensor)
    most = _PER_ENTRY.get(tensor.data_type, 2) * entries
    if elements > most:
        return (f"tensor {tensor.name!r} declares dims {list(dims)} "
                f"({elements} elements) but holds data for at most {most}")
    return None


def _types(tp: TypeProto) -> Iterator:
    which = tp.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        yield getattr(tp, which)
    elif which == "sequence_type":
        yield from _types(tp.sequence_type.elem_type)
    elif which == "optional_type":
        yield from _types(tp.optional_type.elem_type)
    elif which == "map_type":
        yield from _types(tp.map_type.value_type)


def clear_negative_dims(contents: Contents) -> None:
    """Make every negative declared dim (inputs, outputs, value_info, type attributes) unknown, in place."""
    types = list(contents.types)
    for graph in contents.bodies:
        infos = [vi for field in ("input", "output", "value_info") for vi in getattr(graph, field, ())]
        types += [vi.type for vi in infos if not isinstance(vi, str)]  # a FunctionProto's inputs are names
    for tp in types:
        for tensor_type in _types(tp):
            for dim in tensor_type.shape.dim:
                if dim.dim_value < 0:  # 0 when unset or a dim_param (a oneof)
                    dim.ClearField("dim_value")


#: data propagation in onnx's shape inference materialises 1-D tensors as lists of dims: a declared
#: dim above this (no real shape tensor is that long) would make it allocate gigabytes
DATA_PROPAGATION_MAX_DIM = 1 << 24


def data_propagation_is_safe(model: ModelProto) -> bool:
    """True when no declared dim of ``model`` is too large for onnx's data propagation."""
    for graph in bodies(model):
        infos = [vi for field in ("input", "output", "value_info") for vi in getattr(graph, field, ())]
        for vi in infos:
            if isinstance(vi, str):
                continue
            for tensor_type in _types(vi.type):
                if any(d.dim_value > DATA_PROPAGATION_MAX_DIM for d in tensor_type.shape.dim):
                    return False
    return True
