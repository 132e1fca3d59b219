"""Read a frozen TensorFlow GraphDef (``.pb``) into the litert IR (:class:`TfFrontend`).

The file is parsed with litert's own copy of TensorFlow's protos
(``graph.proto`` -> ``graph_pb2``), never with TensorFlow.  A frozen graph
holds its weights as ``Const`` nodes: they become IR constants (numpy views on
``tensor_content``), ``Identity``/``StopGradient`` chains over them are
resolved at load (so a convolution sees a constant filter), and a ``Reshape``
or ``Transpose`` of constants is folded at load; the rest of constant
subgraphs is folded by litert's constant-folding pass.  Data stays NHWC as
TensorFlow lays it out; convolutions and pooling are wrapped in Transposes
that the ``.ms`` frontend's pass cancels, as for TFLite.

Inputs are the ``Placeholder`` nodes; outputs are the nodes no other node
reads, by data or control edge (``NoOp`` and constants aside), in file order.
A frozen ``tf.cond`` (``Switch``/``Merge``) becomes a select of both branches
(:class:`BranchTags`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from litert.errors import ModelLoadError, UnsupportedOperatorError
from litert.formats import Frontend, LoadOptions
from litert.ir import DType, Graph, Layout, Model, Node, Value

from .. import transposes
from ..emitter import NodeEmitter
from ..reading import check_input_shapes, histogram_text, malformed_as_load_error, read_message, symbolic_dims, translated_model
from . import graph_pb2
from .cond import BranchTags

#: what the protobuf parser raises on a file that is not the message it is read as
PARSE_ERRORS = (DecodeError, RuntimeError, ValueError)
#: TensorFlow DataType -> IR dtype (the others are refused)
DTYPES = {1: DType.FLOAT32, 2: DType.FLOAT64, 3: DType.INT32, 4: DType.UINT8, 5: DType.INT16, 6: DType.INT8,
          9: DType.INT64, 10: DType.BOOL, 17: DType.UINT16, 19: DType.FLOAT16, 22: DType.UINT32, 23: DType.UINT64}
#: ops that carry no computation in an inference graph
PASS_THROUGH = {"Identity", "StopGradient", "Snapshot", "PreventGradient"}
#: v1 while-loop ops (frames), which litert does not read
LOOP_OPS = frozenset({"Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", "LoopCond"})
#: the TensorProto repeated field of each dtype, for constants not stored in tensor_content
_VALUE_FIELDS = {DType.FLOAT32: "float_val", DType.FLOAT64: "double_val", DType.INT32: "int_val",
                 DType.UINT8: "int_val", DType.INT16: "int_val", DType.INT8: "int_val", DType.UINT16: "int_val",
                 DType.INT64: "int64_val", DType.BOOL: "bool_val", DType.UINT32: "uint32_val",
                 DType.UINT64: "uint64_val"}


def tensor_value(proto, where: str) -> np.ndarray:
    """A TensorProto as a numpy array (a view on ``tensor_content`` when the bytes are there)."""
    dtype = DTYPES.get(proto.dtype)
    if dtype is None:
        raise ModelLoadError(f"{where}: a constant of TensorFlow DataType {proto.dtype}, which litert does not read")
    dims = tuple(int(d.size) for d in proto.tensor_shape.dim)
    if any(d < 0 for d in dims):
        raise ModelLoadError(f"{where}: a constant with negative dims {list(dims)}")
    count = int(np.prod(dims, dtype=np.int64))
    if proto.tensor_content:
        if len(proto.tensor_content) != count * dtype.itemsize:
            raise ModelLoadError(f"{where}: {len(proto.tensor_content)} bytes for a {list(dims)} {dtype} constant")
        return np.frombuffer(proto.tensor_content, dtype.numpy).reshape(dims)
    if dtype is DType.FLOAT16:
        values = np.array(proto.half_val, np.uint16).view(np.float16)
    else:
        values = np.array(getattr(proto, _VALUE_FIELDS[dtype]), dtype.numpy)
    if values.size == count:
        return values.reshape(dims)
    if values.size == 1 or (values.size == 0 and count >= 0):  # TensorFlow stores a splat as one value
        return np.full(dims, values[0] if values.size else 0, dtype.numpy)
    if values.size < count:  # the last value repeats
        return np.concatenate([values, np.full(count - values.size, values[-1], dtype.numpy)]).reshape(dims)
    raise ModelLoadError(f"{where}: {values.size} values for a {list(dims)} constant")


def attr_value(a):
    """An AttrValue as plain Python (ints, floats, bytes decoded to str, lists, numpy tensors, dtypes)."""
    kind = a.WhichOneof("value")
    if kind == "s":
        return a.s.decode("utf-8", errors="replace")
    if kind == "list":
        lv = a.list
        for name in ("i", "f", "b", "type"):
            if len(getattr(lv, name)):
                return list(getattr(lv, name))
        if len(lv.s):
            return [s.decode("utf-8", errors="replace") for s in lv.s]
        return []
    if kind == "tensor":
        return a.tensor
    if kind == "shape":
        return None if a.shape.unknown_rank else tuple(int(d.size) for d in a.shape.dim)
    return getattr(a, kind) if kind else None


@dataclass
class TfOp:
    """One NodeDef in the shape the operator readers take (the TFLite readers' protocol)."""

    index: str                 # the node name
    op_name: str
    inputs: list[str]          # IR value names of the data inputs
    options: dict = field(default_factory=dict)
    outputs: int = 1


def _value_name(ref: str) -> str:
    """``node`` / ``node:0`` -> ``node``; ``node:k`` -> ``node:k`` (the IR name of a node output)."""
    node, _, port = ref.partition(":")
    return node if port in ("", "0") else ref


class TfBuilder(NodeEmitter[TfOp]):
    """Names, constants and node emission for the operator readers (same protocol as the TFLite builder)."""

    def __init__(self, path: Path, graph: Graph) -> None:
        self.path = path
        self.graph = graph
        self.after_act: list = []

    def has_input(self, op: TfOp, i: int) -> bool:
        return i < len(op.inputs)

    def inp(self, op: TfOp, i: int) -> str:
        if i >= len(op.inputs):
            raise ModelLoadError(f"{self.path}: node {op.index!r} ({op.op_name}) needs input {i}")
        return op.inputs[i]

    def out(self, op: TfOp, i: int = 0) -> str:
        return op.index if i == 0 else f"{op.index}:{i}"

    def const_value(self, op: TfOp, i: int) -> np.ndarray | None:
        if i >= len(op.inputs):
            return None
        value = self.graph.values.get(op.inputs[i])
        return None if value is None else value.const

    def shape(self, op: TfOp, i: int) -> tuple:
        """Input ``i``'s shape by shape inference over the graph so far (a GraphDef stores no shapes)."""
        value = self.shaped_value(self.inp(op, i))
        if value is None or value.shape is None or not all(isinstance(d, int) for d in value.shape):
            raise self.unsupported(op, f"input {i} of unknown or dynamic shape here")
        return value.shape

    def set_const(self, name: str, array: np.ndarray) -> None:
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)

    def label(self, op: TfOp) -> str:
        return op.index

    def unsupported(self, op: TfOp, what: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(f"{self.path.name}: node {op.index!r} ({op.op_name}): {what} is not supported",
                                        node=op.index, op_type=op.op_name, domain="tensorflow")


def read_graph_def(path: Path):
    graph_def = read_message(path, graph_pb2.GraphDef(), "TensorFlow GraphDef", PARSE_ERRORS)
    if not graph_def.node:
        raise ModelLoadError(f"{path}: not a TensorFlow GraphDef (no nodes)")
    return graph_def


def build_graph(path: Path, graph_def, options: LoadOptions) -> Graph:
    from .read_ops import READERS

    graph = Graph(name=path.stem)
    b = TfBuilder(path, graph)
    names = {n.name for n in graph_def.node}
    if len(names) != len(graph_def.node):
        raise ModelLoadError(f"{path}: node names repeat")
    alias: dict[str, str] = {}   # pass-through node outputs -> the value they forward
    consumed: set[str] = set()
    branches = BranchTags(path)
    for n in graph_def.node:  # before sorting: a loop's NextIteration -> Merge edge is a cycle
        if n.op in LOOP_OPS:
            raise UnsupportedOperatorError(f"{path.name}: node {n.name!r}: TensorFlow op {n.op} (a v1 while loop, "
                                           "what a frozen tf.while_loop becomes) is not supported by litert",
                                           node=n.name, op_type=n.op, domain="tensorflow")
    ordered = node_order(graph_def.node, f"{path}: the graph has a cycle through node")
    for n in ordered:
        data_inputs = [i for i in n.input if not i.startswith("^")]
        consumed.update(i.lstrip("^").split(":")[0] for i in n.input)  # a control edge's source is no output
        refs = []
        for ref in data_inputs:
            if ref.split(":")[0] not in names:
                raise ModelLoadError(f"{path}: node {n.name!r} reads {ref!r}, which no node writes")
            refs.append(alias.get(_value_name(ref), _value_name(ref)))
        op = TfOp(n.name, n.op, refs, {k: attr_value(v) for k, v in n.attr.items()})
        if n.op in ("Switch", "Merge"):
            branches.read(b, op, n, alias)
            continue
        branches.inherit(n)
        if n.op == "Placeholder":
            dtype = DTYPES.get(op.options.get("dtype", 0))
            if dtype is None:
                raise UnsupportedOperatorError(f"{path.name}: input {n.name!r} of TensorFlow DataType "
                                               f"{op.options.get('dtype')}", node=n.name, op_type="Placeholder",
                                               domain="tensorflow")
            shape = op.options.get("shape")
            if n.name in options.input_shapes:
                shape = tuple(options.input_shapes[n.name])
            elif shape is not None:
                shape = symbolic_dims(n.name, shape)
            graph.values[n.name] = Value(n.name, dtype, shape, layout=Layout.NHWC if shape and len(shape) == 4
                                         else Layout.ANY)
            graph.inputs.append(n.name)
        elif n.op == "Const":
            b.set_const(n.name, tensor_value(op.options["value"], f"{path}: node {n.name!r}"))
        elif n.op in PASS_THROUGH or n.op == "IdentityN":
            for k, ref in enumerate(refs):
                alias[b.out(op, k)] = ref
        elif n.op == "NoOp":
            continue
        else:
            reader = READERS.get(n.op)
            if reader is None:
                raise UnsupportedOperatorError(f"{path.name}: node {n.name!r}: TensorFlow op {n.op} is not "
                                               "supported by litert", node=n.name, op_type=n.op, domain="tensorflow")
            with malformed_as_load_error(f"{path}: node {n.name!r} ({n.op}): malformed attributes or inputs"):
                reader(b, op)
    check_input_shapes(options, graph)
    for n in graph_def.node:
        if n.name not in consumed and n.op not in ("NoOp", "Const", "Placeholder"):
            source = alias.get(n.name, n.name)
            if source in graph.inputs or source not in graph.values:
                continue
            graph.outputs.append(_output(graph, n.name, source))
    if not graph.outputs:
        raise ModelLoadError(f"{path}: the graph has no outputs (every node's value is read by another)")
    transposes.optimize_loaded(graph, path)
    return graph


def _output(graph: Graph, name: str, source: str) -> str:
    """The graph output called ``name`` (the sink node's name), an Identity when it only forwards ``source``."""
    if name == source:
        return name
    graph.value(name)
    graph.nodes.append(Node("Identity", [source], [name], name=f"{name}/output"))
    return name


def node_order(nodes, cycle: str) -> list:
    """``nodes`` (NodeDefs) in an order where each comes after the nodes it reads (GraphDefs and FunctionDefs
    need not be sorted); a cycle is a ModelLoadError ``<cycle> '<node>'``."""
    by_name = {n.name: n for n in nodes}
    state: dict[str, int] = {}  # 1: being visited, 2: placed
    order = []
    for root in nodes:
        stack = [(root.name, False)]
        while stack:
            name, done = stack.pop()
            if done:
                state[name] = 2
                order.append(by_name[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise ModelLoadError(f"{cycle} {name!r}")
            state[name] = 1
            stack.append((name, True))
            for ref in by_name[name].input:
                dep = ref.lstrip("^").split(":")[0]
                if dep in by_name and state.get(dep) != 2:
                    if state.get(dep) == 1:
                        raise ModelLoadError(f"{cycle} {dep!r}")
                    stack.append((dep, False))
    return order


class TfFrontend(Frontend):
    """TensorFlow frozen GraphDef ``.pb`` files and SavedModels' ``saved_model.pb`` (read without TensorFlow)."""

    name = "tf"
    extensions = (".pb",)

    def load(self, path: Path, options: LoadOptions) -> Model:
        from .saved_model import flatten, is_saved_model

        saved_model = path.is_file() and is_saved_model(path, path.open("rb").read(1))
        graph_def = flatten(path) if saved_model else read_graph_def(path)
        graph = build_graph(path, graph_def, options)
        metadata = {"tf.producer": str(graph_def.versions.producer),
                    "tf.ops": histogram_text(Counter(n.op for n in graph_def.node))}
        if saved_model:
            metadata["tf.saved_model"] = "serving signature, calls inlined, variables from variables/"
        return translated_model(graph, self.name, "TensorFlow", metadata)
