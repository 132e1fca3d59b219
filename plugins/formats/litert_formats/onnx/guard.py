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

from collections.abc import Iterator
from pathlib import Path

from litert.errors import ModelLoadError
from litert.limits import numel

from ..text_fields import first_bad_text
from .onnx_ml_pb2 import AttributeProto, GraphProto, ModelProto, TensorProto, TypeProto

A = AttributeProto


def subgraphs(graph) -> Iterator[GraphProto]:
    """Every graph held by a node attribute of ``graph``, recursively."""
    for node in graph.node:
        for attr in node.attribute:
            for sub in ([attr.g] if attr.type == A.GRAPH else list(attr.graphs)):
                yield sub
                yield from subgraphs(sub)


def bodies(model: ModelProto) -> Iterator:
    """The main graph (first), model-local functions, and every subgraph inside them (anything with nodes)."""
    for body in [model.graph, *model.functions]:
        yield body
        yield from subgraphs(body)


def _tensors(graph) -> Iterator[TensorProto]:
    yield from getattr(graph, "initializer", ())
    for sp in getattr(graph, "sparse_initializer", ()):
        yield sp.values
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == A.TENSOR:
                yield attr.t
            elif attr.type == A.TENSORS:
                yield from attr.tensors
            elif attr.type == A.SPARSE_TENSOR:
                yield attr.sparse_tensor.values
            elif attr.type == A.SPARSE_TENSORS:
                yield from (s.values for s in attr.sparse_tensors)


def all_tensors(model: ModelProto) -> Iterator[TensorProto]:
    """Every tensor of ``model``'s graphs and functions: initializers and node attributes, nested ones too."""
    for body in bodies(model):
        yield from _tensors(body)


def check_model(model: ModelProto, path: Path) -> None:
    """Refuse tensors with negative dims and names that are not valid text, anywhere in the model, and tensors
    whose data is too short for their dims (but the large initializers of the main graph: see below)."""
    bad = None if type(model) is ModelProto else first_bad_text(model)  # litert's own parser verified them
    if bad:
        raise ModelLoadError(f"{path}: {bad} is not valid UTF-8 text")
    for number, graph in enumerate(bodies(model)):
        deferred = len(model.graph.initializer) if number == 0 else 0  # the main graph's come first
        for position, tensor in enumerate(_tensors(graph)):
            if any(d < 0 for d in tensor.dims):
                raise ModelLoadError(f"{path}: tensor {tensor.name!r} has negative dimensions {list(tensor.dims)}")
            if position < deferred and large(tensor):
                # shape inference gets a copy without these (typed inputs instead), and their one conversion
                # (``attributes.tensor_to_array``) checks the size on the bytes it reads anyway: checking
                # here would copy every weight of the model once more
                continue
            problem = data_size_problem(tensor)
            if problem:
                raise ModelLoadError(f"{path}: {problem}")


#: tensors above this many declared elements are not given to onnx's shape inference (the reader's copy for it
#: holds typed inputs instead), so their data size is checked where they are converted
INFERENCE_STRIP_ELEMENTS = 4096


def large(tensor: TensorProto) -> bool:
    """Whether the reader leaves ``tensor`` (an initializer or a Constant's value) out of shape inference."""
    return numel(tensor.dims) > INFERENCE_STRIP_ELEMENTS


_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def data_size_problem(tensor: TensorProto, raw_bytes: int | None = None) -> str | None:
    """Why ``tensor``'s dims promise far more elements than its data holds, else None.

    Converting one (``numpy_helper.to_array``) would allocate what the dims
    say before noticing, gigabytes for a few bytes of file.  An entry holds
    at most two elements (4-bit types pack two per byte or per int32), so
    more than twice the entries is impossible.  Tensors in external files
    are checked when their data is read.  ``raw_bytes``: the length of
    ``raw_data`` when the caller has it (reading the field copies it)."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return None
    elements = numel(tensor.dims)
    if raw_bytes is not None:
        entries = raw_bytes
    elif tensor.HasField("raw_data"):
        entries = len(tensor.raw_data)
    else:
        entries = max(len(getattr(tensor, f)) for f in _TYPED_FIELDS)
    if elements > 2 * entries:
        return (f"tensor {tensor.name!r} declares dims {list(tensor.dims)} "
                f"({elements} elements) but holds data for at most {2 * entries}")
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


def clear_negative_dims(model: ModelProto) -> None:
    """Make every negative declared dim (inputs, outputs, value_info, type attributes) unknown, in place."""
    for graph in bodies(model):
        infos = [vi for field in ("input", "output", "value_info") for vi in getattr(graph, field, ())]
        types = [vi.type for vi in infos if not isinstance(vi, str)]  # a FunctionProto's inputs are names
        for node in graph.node:
            for attr in node.attribute:
                types += [attr.tp] if attr.type == A.TYPE_PROTO else list(attr.type_protos)
        for tp in types:
            for tensor_type in _types(tp):
                for dim in tensor_type.shape.dim:
                    if dim.WhichOneof("value") == "dim_value" and dim.dim_value < 0:
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
