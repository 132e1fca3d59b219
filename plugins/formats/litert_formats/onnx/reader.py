"""Read an ONNX file into the litert IR (:class:`OnnxFrontend`).

Steps: parse, sanity-check, inline model-local functions, load external
data, then convert every graph: constants (initializers, Constant
nodes) become constant values, nodes are checked against the schema
registry, given the defaults of the version in force and upgraded to the
latest operator form (:mod:`.upgrade`); values are typed by their
declarations and litert's own shape inference.  Where that leaves a value
a node writes without an element type or rank, the file is read again with
onnx's shape inference first (on a copy without the large weights,
tolerating failure), as every read did before.

The file is parsed with litert's own copy of ONNX's schema (:mod:`.onnx_ml_pb2`, in a protobuf pool of its
own), not the ``onnx`` package: importing that costs ~40 ms (its C++ extension and operator table), most of
a process's first load.  ``onnx`` is imported only where its code runs: text encodings, model-local
functions (the inliner), external data, and the second read above.  That copy verifies every ``string``
field as UTF-8 while parsing; a file it refuses is parsed again as proto2 would, so that the error names the
bad string (:func:`_unverified_model_class`).
"""
from __future__ import annotations

import functools
import mmap
import os
from pathlib import Path

import numpy as np

from litert.errors import InputError, InvalidModelError, LitertError, ModelLoadError, UnsupportedOperatorError
from litert.formats import Frontend, LoadOptions
from litert.ir import DType, Graph, Model, Node, Value
from litert.logs import Log
from litert.schema import OpSchema, schemas

from . import attributes, guard, wire
from .builder import Builder, Names, Scope
from .onnx_ml_pb2 import GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto
from .types import TypeInfo, type_info, value_info_type
from .upgrade import LEGACY, Adapter, upgrade

log = Log("litert.formats.onnx")

ONNX_DOMAINS = ("", "ai.onnx")

# ModelProto fields (number -> protobuf wire type) that may open a serialised model.
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def looks_like_model(head: bytes) -> bool:
    """True when ``head`` starts like a serialised ``ModelProto``.

    Walks the protobuf tags that fit in ``head``: each must be a ModelProto
    field with its wire type, and an ``ir_version`` or ``graph`` must appear.
    """
    pos, seen = 0, set()
    try:
        while pos < len(head):
            tag, pos = wire.read_varint(head, pos)
            field, wire_type = tag >> 3, tag & 7
            if _MODEL_FIELDS.get(field) != wire_type:
                return False
            seen.add(field)
            if wire_type == 0:
                value, pos = wire.read_varint(head, pos)
                if field == 1 and not 1 <= value <= 64:
                    return False
            else:
                length, pos = wire.read_varint(head, pos)
                pos += length
    except (ValueError, IndexError):
        pass  # the head ends inside a field, or a varint runs past 10 bytes
    return bool(seen & {1, 7})


# ---------------------------------------------------------------- parsing


class HeldWeights:
    """The mapped model file and, per main-graph initializer, where its ``raw_data`` lies in it when the parsed
    message was given the file without it (:func:`.wire.without_weights`; None: the message holds it)."""

    def __init__(self, file: mmap.mmap, spans: list[wire.Span | None]) -> None:
        self.file = file
        self.spans = spans


def _parse(path: Path, borrow: bool = False) -> tuple[ModelProto, HeldWeights | None]:
    """Parse, sanity-check, inline local functions, then load external data (in that order:
    the inliner serialises the model, which must stay under protobuf's 2 GB).  With ``borrow``, the
    large weights of the main graph stay out of the message and in the file's map, which comes back too
    (:func:`_read_proto`); not for a model with local functions or external data, which is read whole again:
    inlining and loading external data serialise the message, weights and all."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        model, held = _read_proto(path, hold_weights=borrow)
    except Exception:  # protobuf DecodeError and friends; perhaps only a string that is not UTF-8
        try:
            model, held = _read_proto(path, _unverified_model_class())  # guard.check_model names that string
        except Exception as err:
            raise ModelLoadError(f"{path}: not a readable ONNX model ({_one_line(err)})") from None
    try:
        contents = _checked(model, path)
        if held is not None and (model.functions or contents.external_data()):
            held.file.close()
            held = None
            model, _ = _read_proto(path)
            contents = _checked(model, path)
        return _completed(model, contents, path), held
    except BaseException:
        if held is not None:
            held.file.close()
        raise


def _checked(model: ModelProto, path: Path) -> guard.Contents:
    """:func:`_parse`'s checks (negative declared dims made unknown); what they looked at."""
    _sanity(model, path)
    contents = guard.Contents(model)
    guard.check_model(contents, path)  # before any onnx C++ helper sees the model: they may abort
    guard.clear_negative_dims(contents)
    return contents


def _completed(model: ModelProto, contents: guard.Contents, path: Path) -> ModelProto:
    """``model`` with its local functions inlined and its external data loaded (itself when it has neither)."""
    if model.functions:
        try:
            import onnx.inliner

            model = _own(onnx.inliner.inline_local_functions(_theirs(model)))
        except Exception as err:
            raise ModelLoadError(f"{path}: cannot inline model-local functions ({_one_line(err)})") from None
        contents = guard.Contents(model)
    if contents.external_data():
        try:
            from onnx import external_data_helper

            theirs = _theirs(model)
            external_data_helper.load_external_data_for_model(theirs, str(path.parent))
            model = _own(theirs)
        except Exception as err:
            raise ModelLoadError(f"{path}: cannot load external data ({_one_line(err)})") from None
    return model


def _theirs(model: ModelProto):
    """``model`` as the ``onnx`` package's ``ModelProto``, for its helpers (imports ``onnx``)."""
    import onnx

    return onnx.ModelProto.FromString(model.SerializeToString())


def _own(model, cls: type[ModelProto] = ModelProto) -> ModelProto:
    """An ``onnx`` package ``ModelProto`` as litert's own class (or ``cls``)."""
    return cls.FromString(model.SerializeToString())


@functools.cache
def _unverified_model_class() -> type[ModelProto]:
    """``ModelProto`` of ONNX's schema as it is, proto2, whose parser takes strings that are not UTF-8: for a file
    litert's own (UTF-8-verifying) schema refuses, so that the error names the bad string, or says what else is
    wrong, as when every file was parsed so.  Built on that refusal only (it imports ``descriptor_pb2``)."""
    from google.protobuf import descriptor_pb2

    from .. import proto_modules
    from . import onnx_ml_pb2

    file = descriptor_pb2.FileDescriptorProto.FromString(onnx_ml_pb2.DESCRIPTOR.serialized_pb)
    file.syntax = "proto2"
    file.ClearField("edition")
    file.options.ClearField("features")
    namespace: dict = {"__name__": "litert_formats.onnx.onnx_ml_unverified_pb2"}
    proto_modules.build_module(namespace, file.SerializeToString(), private=True)
    return namespace["ModelProto"]


#: file suffixes that are ONNX's binary encoding without asking onnx's serialiser registry (which imports onnx)
_BINARY_SUFFIXES = frozenset((".onnx",))
#: of the weights a load leaves in the file (:class:`HeldWeights`), those from this size up are numpy views of
#: the map until :meth:`litert.ir.Model.detach_file` (the passes read them, and rewrite many, without a copy
#: first); smaller ones are copied out at once (shapes, scales: they may end up anywhere, where
#: ``detach_file`` would not look)
_BORROWED_FROM = 64 << 10
#: a tensor of fewer bytes is left in the message without a look at its dims (it cannot hold the 4096 float32
#: values a weight needs to be left out: ``guard.large``), which keeps the walk to a tenth of its time on a
#: model of many small tensors (ShuffleNet: 490 of 524)
_LEAVE_OUT_FROM = guard.INFERENCE_STRIP_ELEMENTS * 4  # float32


def _read_proto(path: Path, cls: type[ModelProto] = ModelProto, hold_weights: bool = False
                ) -> tuple[ModelProto, HeldWeights | None]:
    """The file's ``ModelProto`` (of class ``cls``) without its external data; with ``hold_weights``, without the
    ``raw_data`` of the main graph's large initializers either (:func:`.guard.large`), which stay in the
    file's map, returned with where they lie (None when nothing is left out).

    A binary file is parsed from a read-only memory map of it: ``onnx.load_model`` reads the whole
    file into a ``bytes`` first, a copy of every weight that costs as much as the parse itself
    (0.3 s of a 350 MB model), and protobuf copies what it keeps again.  Text encodings
    (``.json``, ``.txtpb``...: onnx's serialisers by suffix) go through onnx.
    """
    if path.suffix not in _BINARY_SUFFIXES:
        import onnx
        import onnx.serialization

        fmt = onnx.serialization.registry.get_format_from_file_extension(path.suffix)
        if fmt not in (None, "protobuf"):
            return _own(onnx.load_model(str(path), load_external_data=False), cls), None
    model = cls()
    held = None
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        data: bytes | mmap.mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            with memoryview(data) as view:
                found = wire.without_weights(view, guard.large_dims, _LEAVE_OUT_FROM) if hold_weights and size else None
                if found is None or not any(found[1]):
                    decoded = model.ParseFromString(view)
                else:
                    model.ParseFromString(found[0])
                    decoded = size  # the walk followed every field to the end of the file
                    held = HeldWeights(data, found[1])  # type: ignore[arg-type]  # a map: size > 0
        finally:
            if isinstance(data, mmap.mmap) and held is None:
                data.close()
    if decoded is not None and decoded != size:  # what onnx's own loader checks
        raise ValueError(f"protobuf decoding consumed {decoded} of {size} bytes")
    return model, held


def _sanity(model: ModelProto, path: Path) -> None:
    """Reject bytes that happen to parse as a ModelProto but are not a model."""
    problems = []
    if not model.HasField("graph"):
        problems.append("no graph")
    elif not model.graph.output:
        problems.append("graph has no outputs")
    if not 1 <= model.ir_version <= 64:
        problems.append(f"ir_version {model.ir_version}")
    if model.ir_version >= 3 and not model.opset_import:
        problems.append("no opset_import")
    if any(not n.op_type for n in model.graph.node):
        problems.append("node without op_type")
    if problems:
        raise ModelLoadError(f"{path}: not a valid ONNX model ({', '.join(problems)})")


def _opsets(model: ModelProto) -> dict[str, int]:
    opsets = {("" if o.domain in ONNX_DOMAINS else o.domain): int(o.version) for o in model.opset_import}
    if not opsets:
        opsets[""] = 1  # IR < 3 models had no opset_import: opset 1
    return opsets


def _apply_input_shapes(model: ModelProto, shapes: dict) -> None:
    initializers = {t.name for t in model.graph.initializer}
    known = {vi.name for vi in model.graph.input}
    unknown = sorted(set(shapes) - known)
    if unknown:
        data_inputs = sorted(known - initializers)
        raise InputError(f"input_shapes names {unknown}; the model's inputs are {data_inputs}")
    for vi in model.graph.input:
        if vi.name in shapes:
            declared = vi.type.tensor_type.shape.dim if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape") else None
            if declared is not None and len(declared) != len(shapes[vi.name]):
                raise InputError(
                    f"input shape for {vi.name!r} has rank {len(shapes[vi.name])}, the model declares rank {len(declared)}"
                )
            elem = vi.type.tensor_type.elem_type if vi.HasField("type") else 0
            if not elem:
                init = next((t for t in model.graph.initializer if t.name == vi.name), None)
                elem = init.data_type if init is not None else TensorProto.FLOAT
            _set_tensor_type(vi, elem, shapes[vi.name])
    # Declared shapes downstream were computed for the old input shapes: let inference redo them.
    del model.graph.value_info[:]
    for vi in model.graph.output:
        if vi.type.HasField("tensor_type"):
            vi.type.tensor_type.ClearField("shape")


def _set_tensor_type(vi: ValueInfoProto, elem: int, dims) -> None:
    """Make ``vi`` a tensor of element type ``elem`` and shape ``dims`` (ints, names or None), as
    ``onnx.helper.make_tensor_value_info`` would."""
    vi.type.Clear()
    tensor_type = vi.type.tensor_type
    tensor_type.elem_type = elem
    if dims is None:
        return
    shape = tensor_type.shape
    shape.SetInParent()  # a scalar has an empty shape, not none
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, (int, np.integer)):
            dim.dim_value = int(d)
        elif isinstance(d, str):
            dim.dim_param = d
        elif d is not None:
            raise InputError(f"input shape {list(dims)}: a dimension must be an int, a name or None")


def _typed_input(name: str, elem: int, dims) -> ValueInfoProto:
    vi = ValueInfoProto(name=name)
    _set_tensor_type(vi, elem, list(dims))
    return vi


def _big_constant(node: NodeProto) -> TensorProto | None:
    if node.op_type != "Constant" or node.domain not in ONNX_DOMAINS:
        return None
    value = next((a.t for a in node.attribute if a.name == "value"), None)
    return value if value is not None and guard.large(value) else None


def _inference_copy(model: ModelProto, overridden: set[str]) -> ModelProto:
    """The model without its large initializers and Constant weights (typed inputs instead).

    Shape inference serialises the model (protobuf's 2 GB limit) and only
    needs the weights' types and shapes; small constants stay for data
    propagation (Reshape targets and the like).
    """
    copy = ModelProto()
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version"):
        setattr(copy, field, getattr(model, field))
    copy.opset_import.extend(model.opset_import)
    src, dst = model.graph, copy.graph
    dst.name = src.name
    for node in src.node:
        big = _big_constant(node)
        if big is None:
            dst.node.append(node)
        else:  # weights exported as Constant nodes: a typed input instead
            dst.input.append(_typed_input(node.output[0], big.data_type, big.dims))
    dst.output.extend(src.output)
    dst.value_info.extend(src.value_info)
    dst.sparse_initializer.extend(src.sparse_initializer)
    inputs = {vi.name for vi in src.input}
    dst.input.extend(vi for vi in src.input)
    for init in src.initializer:
        if init.name in overridden:
            continue  # the user's shape (already on the input) wins
        if not guard.large(init):
            dst.initializer.append(init)
        elif init.name not in inputs:
            dst.input.append(_typed_input(init.name, init.data_type, init.dims))
    if copy.ir_version < 4 and len(dst.input) > len(src.input):
        copy.ir_version = 4
    return copy


def _collect_types(graph: GraphProto, out: dict[str, TypeInfo], seen: dict[bytes, TypeInfo] | None = None) -> None:
    """The type of every value ``graph`` (and its subgraphs) declares.  Shape inference gives a long chain
    the same few types over and over: each distinct ``TypeProto`` is described once (``TypeInfo`` is frozen)."""
    seen = {} if seen is None else seen
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        if not vi.HasField("type"):
            continue
        key = vi.type.SerializeToString()
        info = seen.get(key)
        if info is None:
            info = seen[key] = type_info(vi.type)
        if vi.name not in out or not _richer(out[vi.name], info):
            out[vi.name] = info
    for node in graph.node:
        for g in guard.node_graphs(node):
            _collect_types(g, out, seen)


def _richer(new: TypeInfo, old: TypeInfo) -> bool:
    def score(t: TypeInfo) -> int:
        known = sum(isinstance(d, int) for d in t.shape) if t.shape is not None else -1
        return (t.dtype is not None) * 1000 + (t.shape is not None) * 500 + known

    return score(new) > score(old)


def _complete(info: TypeInfo) -> bool:
    return info.kind == "tensor" and info.dtype is not None and info.shape is not None \
        and all(isinstance(d, int) for d in info.shape)


def _needs_inference(model: ModelProto, types: dict[str, TypeInfo]) -> bool:
    """Whether onnx's shape inference could tell more than the declared ``types``: some node output (a
    Constant's excepted: its value is read) lacks a declared tensor type with an element type and a static shape.
    Where every one has one, inference would only confirm them (or fail on a contradiction, which leaves the
    declared types in force too), so it is skipped, and with it the import of ``onnx``."""
    for body in guard.bodies(model):
        for node in body.node:
            if node.op_type == "Constant" and node.domain in ONNX_DOMAINS:
                continue
            for out in node.output:
                info = types.get(out)
                if out and (info is None or not _complete(info)):
                    return True
    return False


def _infer_types(model: ModelProto, overridden: set[str]) -> dict[str, TypeInfo]:
    types: dict[str, TypeInfo] = {}
    _collect_types(model.graph, types)
    if not _needs_inference(model, types):
        return types
    try:
        import onnx.shape_inference

        copy = _inference_copy(model, overridden)
        inferred = onnx.shape_inference.infer_shapes(
            copy.SerializeToString(), check_type=False, strict_mode=False, data_prop=guard.data_propagation_is_safe(copy)
        )
    except Exception as err:
        log.info("shape inference failed, using declared types only: %s", _one_line(err))
        return types
    _collect_types(inferred.graph, types)
    return types


def _all_names(graph: GraphProto, values: set[str], nodes: set[str], used: set[str]) -> None:
    values.update(vi.name for vi in graph.input)
    values.update(t.name for t in graph.initializer)
    values.update(t.values.name for t in graph.sparse_initializer)
    used.update(vi.name for vi in graph.output)
    outputs: set[str] = set()
    inputs: set[str] = set()
    for node in graph.node:
        if node.name:
            nodes.add(node.name)
        outputs.update(node.output)
        inputs.update(node.input)
        for g in guard.node_graphs(node):
            _all_names(g, values, nodes, used)
    outputs.discard("")  # an omitted optional output or input names nothing
    inputs.discard("")
    values |= outputs
    used |= inputs


# ---------------------------------------------------------------- conversion


def _constant_array(node: NodeProto) -> np.ndarray:
    """The value of a Constant node, whichever ``value*`` attribute holds it."""
    for attr in node.attribute:
        n = attr.name
        if n == "value":
            return attributes.tensor_to_array(attr.t)
        if n == "sparse_value":
            return attributes.sparse_to_array(attr.sparse_tensor)
        if n == "value_float":
            return np.array(attr.f, np.float32)
        if n == "value_floats":
            return np.array(list(attr.floats), np.float32)
        if n == "value_int":
            return np.array(attr.i, np.int64)
        if n == "value_ints":
            return np.array(list(attr.ints), np.int64)
        if n == "value_string":
            return np.array(attr.s.decode("utf-8", errors="replace"), dtype=object)
        if n == "value_strings":
            return np.array([s.decode("utf-8", errors="replace") for s in attr.strings], dtype=object)
    raise InvalidModelError(f"Constant node {node.name!r} has no value attribute")


#: the type of a value nothing declares (TypeInfo is frozen: one for all)
_UNTYPED = TypeInfo()


#: ``DType.from_numpy`` (~0.4 us), once for each numpy dtype: a fixed correspondence
_dtype_of = functools.cache(DType.from_numpy)


def _const_value(name: str, arr: np.ndarray) -> Value:
    return Value(name, _dtype_of(arr.dtype), arr.shape, const=arr)


class _Converter:
    def __init__(self, path: Path, model: ModelProto, options: LoadOptions, onnx_inference: bool = True,
                 held: HeldWeights | None = None) -> None:
        self.path = path
        #: the main graph's weights the message was parsed without, and whether any is borrowed (a view of
        #: the map: :data:`_BORROWED_FROM`)
        self.held = held
        self.borrowed = False
        self.opsets = _opsets(model)
        self.input_shapes = {k: tuple(v) for k, v in options.input_shapes.items()}
        if onnx_inference:
            self.types = _infer_types(model, set(self.input_shapes))
        else:
            self.types = {}
            _collect_types(model.graph, self.types)
        self.names = Names()
        self.reserved_nodes: set[str] = set()
        self.used: set[str] = set()
        _all_names(model.graph, self.names.values, self.reserved_nodes, self.used)
        self.counter = 0
        #: (domain, op_type, opset or None for the latest) -> schema: the registry is fixed while a model is read
        self._schemas: dict[tuple[str, str, int | None], OpSchema] = {}
        #: (domain, op_type, opset) -> the legacy adapter or None (:meth:`_legacy`)
        self._legacies: dict[tuple[str, str, int | None], Adapter | None] = {}

    def _schema(self, domain: str, op: str, opset: int | None) -> OpSchema:
        key = (domain, op, opset)
        found = self._schemas.get(key)
        if found is None:  # an unknown operator or opset raises here, every time it is asked
            found = self._schemas[key] = schemas().get(domain, op, opset)
        return found

    # -- names --------------------------------------------------------------

    def _node_name(self, proto: NodeProto, op_type: str) -> str:
        index = self.counter
        self.counter += 1
        given = proto.name
        if given and given not in self.names.nodes:
            self.names.nodes.add(given)
            return given
        base = given or f"{op_type}_{index}"
        name = base
        while name in self.names.nodes or (not given and name in self.reserved_nodes):
            name = f"{base}_{len(self.names.nodes)}"
        self.names.nodes.add(name)
        return name

    def _typed(self, name: str) -> Value:
        info = self.types.get(name) or _UNTYPED
        return Value(name, info.dtype, info.shape, kind=info.kind)

    # -- graphs -------------------------------------------------------------

    def graph(self, proto: GraphProto, parent: Scope | None) -> Graph:
        main = parent is None
        graph = Graph(name=proto.name or ("main" if main else "subgraph"))
        scope = Scope(graph, parent)
        unread: set[str] = set()
        spans = self.held.spans if main and self.held is not None else None
        if spans is not None and len(spans) != len(proto.initializer):
            raise ModelLoadError(f"{self.path}: {len(proto.initializer)} initializers parsed, {len(spans)} walked")
        for index, init in enumerate(proto.initializer):
            name = init.name
            if name not in self.used and name not in self.input_shapes:
                unread.add(name)  # read by no node, no body and no output: dropped unread, as onnxruntime drops it
                continue
            span = spans[index] if spans is not None else None
            if span is None:
                array = self._guard(name, attributes.tensor_to_array, init)
            else:
                array = self._guard(name, lambda t, span=span: self._held_array(t, *span), init)
            graph.values[name] = _const_value(name, array)
            init.ClearField("raw_data")  # the array owns the weights now: halve peak memory on big models
        if unread:
            log.info("%s: %d initializers that nothing reads left out", graph.name, len(unread))
        for sp in proto.sparse_initializer:
            name = sp.values.name
            graph.values[name] = _const_value(name, self._guard(name, attributes.sparse_to_array, sp))
        for vi in proto.input:
            if vi.name in unread:
                continue  # an initializer listed as input (old IR) that nothing reads: neither input nor constant
            override = self.input_shapes.get(vi.name) if main else None
            existing = graph.values.get(vi.name)
            if existing is not None and existing.is_const:
                if override is None:
                    continue  # an initializer listed as input (old IR): a constant
                existing.const = None
            declared = value_info_type(vi) or self.types.get(vi.name) or TypeInfo()
            dtype = declared.dtype or (existing.dtype if existing else None)
            value = Value(vi.name, dtype, declared.shape, kind=declared.kind)
            if override is not None:
                value.shape = override
            graph.values[vi.name] = value
            graph.inputs.append(vi.name)
        for proto_node in proto.node:
            if proto_node.op_type == "Constant" and proto_node.domain in ONNX_DOMAINS:
                name = self._node_name(proto_node, "Constant")
                arr = self._guard(name, _constant_array, proto_node)
                graph.values[proto_node.output[0]] = _const_value(proto_node.output[0], arr)
                continue
            graph.nodes.extend(self.node(proto_node, scope))
        for vi in proto.output:
            graph.outputs.append(vi.name)
            output_value = graph.values.get(vi.name)
            output_type = value_info_type(vi)
            if output_value is not None and output_type is not None and not output_value.is_const:
                if output_value.dtype is None:
                    output_value.dtype = output_type.dtype
                if output_value.shape is None:
                    output_value.shape = output_type.shape
        return graph

    def _held_array(self, init: TensorProto, start: int, stop: int) -> np.ndarray:
        """``init``'s array from its ``raw_data`` left in the map at ``start:stop``: borrowed from this size up
        (:data:`_BORROWED_FROM`), else copied."""
        assert self.held is not None
        borrow = stop - start >= _BORROWED_FROM
        self.borrowed = self.borrowed or borrow
        return attributes.held_array(init, self.held.file, start, stop, borrow)

    def _guard(self, what: str, fn, proto):
        """``fn(proto)``, its errors but litert's own as a ModelLoadError naming ``what``."""
        try:
            return fn(proto)
        except LitertError:
            raise
        except Exception as err:
            raise self._unreadable(what, err) from None

    def _unreadable(self, what: str, err: Exception) -> ModelLoadError:
        return ModelLoadError(f"{self.path}: cannot read {what!r} ({_one_line(err)})")

    # -- nodes --------------------------------------------------------------

    def _legacy(self, domain: str, op: str, opset: int | None) -> Adapter | None:
        """The legacy adapter of an operator (None: the schema registry has it); UnsupportedOperatorError
        (without the node's name: the caller adds it) when neither has it.  Asked once per operator."""
        key = (domain, op, opset)
        if key in self._legacies:
            return self._legacies[key]
        reg = schemas()
        legacy = LEGACY.get(op) if domain == "" else None
        if legacy is not None and reg.has(domain, op) and reg.versions(domain, op)[0].since <= (opset or 10**6):
            legacy = None  # an experimental operator that later became standard, used at a standard opset
        if legacy is None and not reg.has(domain, op):
            raise UnsupportedOperatorError("is not supported", op_type=op, domain=domain)
        self._legacies[key] = legacy
        return legacy

    def _attributes(self, name: str, protos, scope: Scope) -> dict:
        """A node's attributes, decoded (bodies read as subgraphs of ``scope``)."""
        def subgraph(g: GraphProto) -> Graph:
            return self.graph(g, scope)

        attrs = {}
        for attr in protos:
            key = attr.name
            try:  # as _guard, but the name is formatted only for an error
                attrs[key] = attributes.from_proto(attr, subgraph)
            except LitertError:
                raise
            except Exception as err:
                raise self._unreadable(f"{name}.{key}", err) from None
        return attrs

    def node(self, proto: NodeProto, scope: Scope) -> list[Node]:
        proto_domain = proto.domain
        domain = "" if proto_domain in ONNX_DOMAINS else proto_domain
        op = proto.op_type
        name = self._node_name(proto, op)
        opset = self.opsets.get(domain)
        reg = schemas()

        def where() -> str:  # for errors only: not formatted for every node of a long graph
            return f"{self.path.name}: node {name!r}: operator {op} (domain {domain or 'ai.onnx'}, opset {opset})"

        try:
            legacy = self._legacy(domain, op, opset)
        except UnsupportedOperatorError:
            raise UnsupportedOperatorError(f"{where()} is not supported", node=name, op_type=op, domain=domain) from None

        attributes_ = proto.attribute
        attrs = self._attributes(name, attributes_, scope) if attributes_ else {}
        node = Node(op, list(proto.input), list(proto.output), attrs, name=name, domain=domain)
        values = scope.graph.values
        for out in node.outputs:
            if out:
                values[out] = self._typed(out)
        try:
            if legacy is not None:
                nodes = legacy(Builder(self.names, scope, self.used, node), node) or [node]
            else:
                schema = self._schema(domain, op, opset)
                for key, spec in schema.attrs.items():
                    if key not in node.attrs and spec.required:
                        raise InvalidModelError(f"node {name!r} ({op}-{schema.since}): missing required attribute {key!r}")
                    if key not in node.attrs and spec.default is not None:
                        node.attrs[key] = spec.default.copy() if hasattr(spec.default, "copy") else spec.default
                if domain == "" and (schema.deprecated or schema is not self._schema(domain, op, None)):
                    nodes = upgrade(Builder(self.names, scope, self.used, node), node, schema.since)
                else:  # already the latest form: no adapter applies (what upgrade() would find, without the search)
                    nodes = [node]
            for n in nodes:
                latest = self._schema(n.domain, n.op_type, None)
                if n.domain == "":
                    for key in [k for k in n.attrs if k not in latest.attrs]:
                        del n.attrs[key]
                    reg.complete_attrs(n, latest)
                else:
                    reg.complete_attrs(n, self._schema(n.domain, n.op_type, opset))
        except UnsupportedOperatorError as err:
            raise UnsupportedOperatorError(
                f"{where()}: {err}", node=name, op_type=op, domain=domain
            ) from None
        except InvalidModelError as err:
            raise InvalidModelError(f"{self.path.name}: {err}") from None
        except LitertError:
            raise
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as err:
            # an adapter met a form its opset does not allow (missing input or attribute, wrong type)
            raise ModelLoadError(f"{where()}: malformed node ({_one_line(err)})") from None
        return nodes


# ---------------------------------------------------------------- frontend


def _read(path: Path, options: LoadOptions, onnx_inference: bool) -> tuple[ModelProto, _Converter, Graph]:
    """Parse and convert; ``onnx_inference`` runs onnx's shape inference (importing ``onnx``) when the
    declared types leave something to infer, else the graph is typed by litert's own inference alone."""
    model, held = _parse(path, borrow=options.borrow_file)
    converter = None
    try:
        if options.input_shapes:
            _apply_input_shapes(model, options.input_shapes)
        converter = _Converter(path, model, options, onnx_inference, held)
        graph = converter.graph(model.graph, None)
    finally:  # a map that lends nothing closes now (one that does, once the caller detaches the weights)
        if held is not None and (converter is None or not converter.borrowed):
            held.file.close()
            if converter is not None:
                converter.held = None
    if not onnx_inference:
        _infer_own(graph)
    return model, converter, graph


def _infer_own(graph: Graph) -> None:
    """Type ``graph`` with litert's inference.  A graph output's declared shape is a claim the op may know
    better (``("N", "boxes")`` where the op gives ``("N", 4032)``): it is set aside while inference runs and
    kept only where it says more than the op's, as :func:`_collect_types` does with onnx's inferred types."""
    from litert.schema.inference import infer_shapes

    produced = {name for node in graph.nodes for name in node.outputs}
    declared = {}
    for name in graph.outputs:
        value = graph.values.get(name)
        if name in produced and value is not None and not value.is_const and value.shape is not None:
            declared[name] = TypeInfo(value.kind, value.dtype, value.shape)
            value.shape = None
    infer_shapes(graph)
    for name, info in declared.items():
        value = graph.values[name]
        found = TypeInfo(value.kind, value.dtype, value.shape)
        if value.shape is None or _richer(info, found):
            value.shape = info.shape


def _untyped(graph: Graph) -> bool:
    """Whether some value a node of ``graph`` (or of a subgraph) writes has no known element type or rank."""
    for node in graph.nodes:
        for name in node.outputs:
            value = graph.values.get(name) if name else None
            if value is not None and not value.is_const and (value.dtype is None or value.shape is None):
                return True
        if node.attrs and any(_untyped(sub) for sub in node.subgraphs()):
            return True
    return False


class OnnxFrontend(Frontend):
    """ONNX ``.onnx`` files (ModelProto), any opset the schema registry covers."""

    name = "onnx"
    extensions = (".onnx",)

    sniff = staticmethod(looks_like_model)

    def load(self, path: Path, options: LoadOptions) -> Model:
        """Types come from the declarations and litert's own inference; only where those leave a value
        untyped is the model read again with onnx's shape inference (:func:`_read`)."""
        model, converter, graph = _read(path, options, onnx_inference=False)
        if _untyped(graph):
            del model, converter, graph  # the first read's weights go before the second read makes its own
            model, converter, graph = _read(path, options, onnx_inference=True)
        opsets = dict(converter.opsets)
        source_opset = opsets.get("", 1)
        opsets[""] = max(schemas().latest_opset(), source_opset)
        metadata = {p.key: p.value for p in model.metadata_props}
        metadata["source_opset"] = str(source_opset)
        result = Model(
            graph=graph,
            opsets=opsets,
            producer=model.producer_name,
            source_format="onnx",
            metadata=metadata,
            ir_version=model.ir_version,
        )
        # what the weights borrow, until the caller detaches them
        result.mapped_file = converter.held.file if converter.held is not None else None
        return result
