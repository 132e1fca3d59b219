"""Read a MindSpore ``.mindir`` file into the litert IR (:class:`MindirFrontend`).

A MindIR file is a protobuf ``ModelProto`` (see ``mind_ir.proto``): one main
graph with inputs, parameters (weights, inline or in external files) and
nodes; primitives referenced by the nodes as ``REF::<name>``; optional
function graphs that nodes call (``@lazy_inline`` cells), which are inlined.

Nodes are walked in order.  ``Constant`` nodes and parameters stay
compile-time values until an operator reads them as tensors.  The plumbing
of MindSpore's side-effect ordering (Load, UpdateState, Depend, MakeTuple,
TupleGetItem, Return) only moves entries around and produces no IR node.
Every other primitive goes through the converter table of :mod:`.read_ops`;
a primitive not in it is reported with the node that uses it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from litert.errors import InputError, LitertError, ModelLoadError, UnsupportedOperatorError
from litert.formats import Frontend, LoadOptions
from litert.ir import DType, Graph, Model, Node, Value
from litert.logs import Log

from ..reading import translated_model
from ..text_fields import first_bad_text
from . import output_names, tensors
from .context import Const, NodeContext, Unavailable
from .mind_ir_pb2 import GraphProto, ModelProto, NodeProto, PrimitiveProto
from .read_ops import CONVERTERS
from .signatures import FUNCTIONS
from .values import MONAD, Abstract, UndecodableValue, decode, decode_abstract

log = Log("litert.formats.mindir")

REF = "REF::"
#: nodes of these primitives only route values (side-effect ordering, tuples)
PLUMBING = {"Load", "UpdateState", "Depend", "MakeTuple", "make_tuple", "make_list", "TupleGetItem",
            "tuple_getitem", "list_getitem", "Return", "StopGradient", "stop_gradient"}
#: a recursion guard for function graphs calling each other
MAX_CALL_DEPTH = 64


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


# ---------------------------------------------------------------- parsing


def parse(path: Path) -> ModelProto:
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    data = path.read_bytes()
    proto = ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as err:
        raise ModelLoadError(f"{path}: not a readable MindIR model ({_one_line(err)})") from None
    bad = first_bad_text(proto)
    if bad:
        raise ModelLoadError(f"{path}: {bad} is not valid UTF-8 text")
    problems = []
    if not proto.HasField("graph"):
        problems.append("no graph")
    elif not proto.graph.output and not any(n.op_type.endswith("Return") for n in proto.graph.node):
        problems.append("graph has no outputs")
    if any(not n.op_type for g in [proto.graph, *proto.functions] for n in g.node):
        problems.append("node without op_type")
    functions = sum(p.prim_type == PrimitiveProto.PRIMITIVE_FUNCTION for p in proto.primitives)
    if functions and proto.mind_ir_version < 2:
        # MindSpore writes mind_ir_version last: a file cut just before it still parses
        problems.append(f"primitive functions without mind_ir_version >= 2 (it is {proto.mind_ir_version})")
    if problems:
        raise ModelLoadError(f"{path}: not a valid MindIR model ({', '.join(problems)}; truncated or corrupt?)")
    return proto


def looks_like_mindir(head: bytes) -> bool:
    """``ModelProto`` opens with ir_version (field 1, a string such as "1.1") and producer_name "MindSpore"."""
    if len(head) < 4 or head[0] != 0x0A or head[1] > 16:
        return False
    version = head[2:2 + head[1]]
    return bool(version) and all(c in b"0123456789." for c in version)


# ---------------------------------------------------------------- graphs


class _Scope:
    """Entries of one graph instance (the main graph, or one inlined call of a function)."""

    def __init__(self, graph: GraphProto, prefix: str, parent: _Scope | None = None) -> None:
        self.graph = graph
        self.strip = graph.name + ":"
        self.prefix = prefix  # IR name prefix of this call ("" for the main graph)
        self.parent = parent
        self.entries: dict[str, Any] = {}
        self.returned: Any = None

    def local(self, name: str) -> str:
        short = name[len(self.strip):] if name.startswith(self.strip) else name
        return f"{self.prefix}{short}"

    def lookup(self, name: str) -> Any:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.entries:
                return scope.entries[name]
            scope = scope.parent
        return None


class GraphReader:
    """Turns one ModelProto into a :class:`litert.ir.Graph`."""

    def __init__(self, proto: ModelProto, path: Path, options: LoadOptions) -> None:
        self.proto = proto
        self.path = path
        self.base_dir = path.parent
        self.options = options
        self.graph = Graph(name=proto.graph.name or "main")
        self.primitives: dict[str, PrimitiveProto] = {p.name: p for p in proto.primitives}
        self.functions: dict[str, GraphProto] = {f.name: f for f in proto.functions}
        self.abstracts: dict[str, Abstract] = {}
        self._node_names: set[str] = set()
        self._depth = 0

    # -- naming and building (used by NodeContext) -----------------------------

    def fresh_value(self, base: str) -> str:
        name, i = base, 0
        while name in self.graph.values or not name:
            i += 1
            name = f"{base}_{i}"
        self.graph.values[name] = Value(name)
        return name

    def fresh_node(self, base: str) -> str:
        name, i = base, 0
        while name in self._node_names:
            i += 1
            name = f"{base}_{i}"
        self._node_names.add(name)
        return name

    def append(self, node: Node) -> None:
        self.graph.nodes.append(node)

    def add_const(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh_value(hint)
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
        return name

    def materialize(self, const: Const) -> str:
        if const.materialized is None:
            const.materialized = self.add_const(np.asarray(const.get()), const.name or "const")
        return const.materialized

    def as_tensor(self, entry: Any, hint: str, ctx: NodeContext) -> str:
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Const) and isinstance(entry.get(), np.ndarray):
            return self.materialize(entry)
        if isinstance(entry, Unavailable):
            raise ctx.unsupported(f"an input is {entry.why}")
        raise ctx.unsupported(f"{hint} is not a tensor ({entry!r})")

    def abstract_of(self, value: str) -> Abstract | None:
        known = self.graph.values.get(value)
        if known is not None and known.const is not None:
            return Abstract(DType.from_numpy(known.const.dtype), tuple(known.const.shape))
        if known is not None and known.dtype is not None and known.shape is not None:
            return Abstract(known.dtype, known.shape)
        if value in self.abstracts:
            return self.abstracts[value]
        return self._inferred(value)

    def _inferred(self, value: str) -> Abstract | None:
        """Type and shape from the core's inference over the graph read so far.

        Files MindSpore writes declare every node's abstract; this covers files
        that do not (costly when called often, which such files make rare).
        """
        from litert.schema.inference import infer_shapes

        try:
            infer_shapes(self.graph)
        except Exception as err:  # a partial graph may not infer; the caller reports the missing rank
            log.debug("partial shape inference failed: %s", err)
            return None
        known = self.graph.values.get(value)
        if known is not None and known.dtype is not None and known.shape is not None:
            return Abstract(known.dtype, known.shape)
        return None

    # -- the walk ---------------------------------------------------------------

    def read(self) -> Graph:
        main = _Scope(self.proto.graph, "")
        self._parameters(main)
        self._inputs(main)
        outputs = self._run(main)
        for i, entry in enumerate(outputs):
            name = self._output_value(entry, i)
            self.graph.outputs.append(name)
        return self.graph

    def _parameters(self, scope: _Scope) -> None:
        for param in scope.graph.parameter:
            local = scope.local(param.name)
            scope.entries[param.name] = Const(name=local, loader=self._param_loader(param, local))

    def _param_loader(self, param, local: str):
        def load() -> np.ndarray:
            return tensors.to_numpy(param, self.base_dir, f"{self.path}: parameter {local}")

        return load

    def _inputs(self, scope: _Scope) -> None:
        overrides = dict(self.options.input_shapes)
        names = {scope.local(vi.name): vi for vi in scope.graph.input}
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise InputError(f"input_shapes names {unknown}; the model's inputs are {sorted(names)}")
        for local, vi in names.items():
            if vi.HasField("attr_info") or len(vi.tensor) != 1:
                raise ModelLoadError(f"{self.path}: input {local} is not a tensor; only tensor inputs are supported")
            tensor = vi.tensor[0]
            dtype = tensors.ir_dtype(tensor.data_type, f"{self.path}: input {local}")
            shape = overrides.get(local) or tuple(
                f"{local}_dim{axis}" if d is None else d for axis, d in enumerate(tensors.shape_of(tensor)))
            self.graph.values[local] = Value(local, dtype, tuple(shape))
            self.graph.inputs.append(local)
            scope.entries[vi.name] = local

    def _run(self, scope: _Scope) -> list[Any]:
        """Convert the nodes of ``scope``'s graph; returns its output entries (tuples flattened)."""
        for node in scope.graph.node:
            self._node(node, scope)
        graph = scope.graph
        if graph.output:
            results = [self._lookup(scope, vi.name, f"graph output {scope.local(vi.name)}") for vi in graph.output]
        elif scope.returned is not None:
            results = [scope.returned]
        else:
            raise ModelLoadError(f"{self.path}: graph {graph.name} has no outputs")
        flat: list[Any] = []
        for entry in results:
            flat.extend(_flatten(entry))
        return flat

    def _lookup(self, scope: _Scope, name: str, who: str) -> Any:
        entry = scope.lookup(name)
        if entry is None:
            raise ModelLoadError(f"{self.path}: {who} reads {scope.local(name)!r}, which nothing defines "
                                 "(truncated or corrupt file?)")
        return entry

    def _node(self, node: NodeProto, scope: _Scope) -> None:
        where = scope.local(node.output[0]) if node.output else scope.local(node.name)
        if not node.output:
            raise ModelLoadError(f"{self.path}: node {node.name!r} has no output")
        if node.op_type == "Constant":
            scope.entries[node.output[0]] = self._constant(node, where)
            return
        args = [self._lookup(scope, name, f"node {where}") for name in node.input]
        target = node.op_type[len(REF):] if node.op_type.startswith(REF) else node.op_type
        if target in self.functions:
            result = self._call(self.functions[target], args, where, scope)
        else:
            result = self._primitive(node, target, args, where, scope)
        scope.entries[node.output[0]] = result
        if node.op_type.endswith("Return"):
            scope.returned = result

    def _constant(self, node: NodeProto, where: str) -> Any:
        attr = next((a for a in node.attribute if a.name == "value"), node.attribute[0] if node.attribute else None)
        if attr is None:
            raise ModelLoadError(f"{self.path}: constant {where} has no value")
        try:
            value = decode(attr, self.base_dir)
        except UndecodableValue as err:
            return Unavailable(f"a constant of MindIR type {err} ({where})")
        if value is MONAD:
            return MONAD
        return Const(value, name=where)

    def _call(self, function: GraphProto, args: list, where: str, caller: _Scope) -> Any:
        if len(args) != len(function.input):
            raise ModelLoadError(f"{self.path}: node {where} calls {function.name} with {len(args)} arguments, "
                                 f"it takes {len(function.input)}")
        self._depth += 1
        if self._depth > MAX_CALL_DEPTH:
            raise ModelLoadError(f"{self.path}: function calls nest deeper than {MAX_CALL_DEPTH} ({where})")
        root = caller
        while root.parent is not None:
            root = root.parent
        scope = _Scope(function, f"{where}/", parent=root)  # sees the main graph's parameters, not the caller's
        self._parameters(scope)
        for vi, arg in zip(function.input, args):
            scope.entries[vi.name] = arg
        outputs = self._run(scope)
        self._depth -= 1
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _primitive(self, node: NodeProto, target: str, args: list, where: str, scope: _Scope) -> Any:
        prim = self.primitives.get(target)
        if prim is not None:
            op = prim.op_type or target.split(":")[0]
            attrs = self._attrs(prim.attribute, where)
        elif node.op_type.startswith(REF):
            raise ModelLoadError(f"{self.path}: node {where} uses primitive {target!r}, which the file does not define")
        else:  # MindIR before primitive tables: the node carries the attributes itself
            op = target
            attrs = self._attrs([a for a in node.attribute if a.name != "shape"], where)
        if op in PLUMBING:
            return self._plumbing(op, args, where)
        abstract = next((decode_abstract(a) for a in node.attribute if a.name == "shape"), None)
        converter = CONVERTERS.get(op)
        if converter is None:
            raise UnsupportedOperatorError(
                f"node {where!r}: MindSpore primitive {op} is not supported by litert's MindIR reader",
                node=where, op_type=op, domain="mindspore",
            )
        ctx = NodeContext(self, where, op, args, attrs, FUNCTIONS.get(op), abstract)
        try:
            result = converter(ctx)
        except LitertError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as err:
            raise ctx.unsupported(f"cannot map its arguments ({_one_line(err)})") from None
        self._record_abstract(result, abstract)
        return result

    def _attrs(self, attributes, where: str) -> dict[str, Any]:
        out = {}
        for attr in attributes:
            try:
                out[attr.name] = decode(attr, self.base_dir)
            except UndecodableValue:
                continue  # an attribute no converter reads (closures, class types)
        return out

    def _plumbing(self, op: str, args: list, where: str) -> Any:
        if op in ("Load", "Depend", "StopGradient", "stop_gradient", "Return"):
            if not args:
                raise ModelLoadError(f"{self.path}: {op} node {where} has no input")
            return args[0]
        if op == "UpdateState":
            return MONAD
        if op in ("MakeTuple", "make_tuple", "make_list"):
            return tuple(args)
        # TupleGetItem(tuple, index)
        if len(args) != 2 or not isinstance(args[1], Const) or not isinstance(args[1].get(), int):
            raise ModelLoadError(f"{self.path}: {op} node {where} needs a tuple and a constant index")
        container, index = args[0], args[1].get()
        if isinstance(container, Const) and isinstance(container.get(), tuple):
            return Const(container.get()[index], name=where)
        if not isinstance(container, tuple) or not -len(container) <= index < len(container):
            raise ModelLoadError(f"{self.path}: {op} node {where}: index {index} out of a "
                                 f"{len(container) if isinstance(container, tuple) else 'non'}-tuple")
        return container[index]

    def _record_abstract(self, result: Any, abstract: Any) -> None:
        if isinstance(result, str) and isinstance(abstract, Abstract):
            self.abstracts.setdefault(result, abstract)
        elif isinstance(result, tuple) and isinstance(abstract, tuple):
            for r, a in zip(result, abstract):
                self._record_abstract(r, a)

    def _output_value(self, entry: Any, index: int) -> str:
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Const) and isinstance(entry.get(), np.ndarray):
            return self.materialize(entry)
        if isinstance(entry, Const) and isinstance(entry.get(), (int, float, bool)):
            return self.add_const(np.asarray(entry.get()), f"output_{index}")
        if isinstance(entry, Unavailable):
            raise UnsupportedOperatorError(f"{self.path}: graph output {index} is {entry.why}")
        raise ModelLoadError(f"{self.path}: graph output {index} is not a tensor ({entry!r})")


def _infer_types(graph: Graph, path: Path) -> None:
    """Give every value its dtype and shape, as the ONNX reader's shape inference does (writers need them)."""
    from litert.schema.inference import infer_shapes

    try:
        infer_shapes(graph)
    except Exception as err:  # any failure here is the file's: report it, not a traceback
        raise ModelLoadError(f"{path}: the graph read from MindIR is inconsistent ({_one_line(err)})") from None


def _flatten(entry: Any) -> list[Any]:
    if isinstance(entry, tuple):
        return [x for e in entry for x in _flatten(e)]
    return [entry]


class MindirFrontend(Frontend):
    """MindSpore ``.mindir`` files (MindIR ModelProto, primitive tables of MindSpore 2.x)."""

    name = "mindir"
    extensions = (".mindir",)

    sniff = staticmethod(looks_like_mindir)

    def load(self, path: Path, options: LoadOptions) -> Model:
        proto = parse(path)
        graph = GraphReader(proto, path, options).read()
        output_names.restore(graph, {e.key: e.value for e in proto.user_info})
        _infer_types(graph, path)
        metadata = {"mindir_version": str(proto.mind_ir_version), "mindspore_version": proto.model_version}
        metadata.update({e.key: e.value for e in proto.user_info})
        return translated_model(graph, self.name, proto.producer_name, metadata)

