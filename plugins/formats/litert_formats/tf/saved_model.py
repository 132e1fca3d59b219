"""A TensorFlow SavedModel's serving signature as one flat GraphDef, without TensorFlow.

TensorFlow 2 saves the computation as functions (``FunctionDef``s in the
graph's library) called through ``StatefulPartitionedCall``/``PartitionedCall``
nodes, and the weights as resource variables whose values live in the
``variables/`` checkpoint.  :func:`flatten` turns the serving signature into
what the frozen-GraphDef reader takes:

* each signature input becomes a ``Placeholder`` named by its signature key,
  each output an ``Identity`` named by its key;
* every call is inlined (node names prefixed by the call's name), so a
  function's nodes read the caller's values;
* each variable a function captures becomes a ``Const`` holding its
  checkpoint value: the call's captured inputs are the concrete function's
  ``bound_inputs`` (SavedModel object ids), and the checkpoint's object
  graph names the checkpoint key of each; ``ReadVariableOp`` becomes an
  ``Identity`` and ``ResourceGather`` a ``GatherV2`` of that constant;
* ``If``/``StatelessIf`` inline both branches and select each output with
  ``SelectV2`` on the condition (both are computed: inference graphs have no
  side effects); functional loops (``While``) are left to the GraphDef
  reader, which refuses them;
* nodes the outputs do not need are dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from litert.errors import ModelLoadError, UnsupportedOperatorError

from ..reading import read_message
from . import graph_pb2, saved_model_pb2
from .bundle import Checkpoint
from .reader import PARSE_ERRORS, node_order

SIGNATURE = "serving_default"
CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
#: functional conditionals, read as a select of both inlined branches
IF_OPS = frozenset({"If", "StatelessIf"})
#: output argument names of the builtin ops with more than one (a function body names outputs ``node:arg:i``)
OUTPUT_ARGS = {
    "FusedBatchNorm": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV3": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
                         "reserve_space_3"),
    "TopKV2": ("values", "indices"), "Unique": ("y", "idx"),
}


def is_saved_model(path: Path, head: bytes) -> bool:
    """``saved_model.pb`` by name, or a SavedModel by its first field (the schema version, a varint)."""
    return path.name == "saved_model.pb" or head[:1] == b"\x08"


def read_saved_model(path: Path):
    saved = read_message(path, saved_model_pb2.SavedModel(), "TensorFlow SavedModel", PARSE_ERRORS)
    if not saved.meta_graphs:
        raise ModelLoadError(f"{path}: not a TensorFlow SavedModel (no meta graphs)")
    served = [m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags]
    return (served or list(saved.meta_graphs))[0]


@dataclass
class _Scope:
    """One function instance (or the main graph): how its references resolve to flat values."""

    prefix: str
    args: dict[str, str] = field(default_factory=dict)      # input arg name -> flat ref
    nodes: dict[str, Any] = field(default_factory=dict)  # node name -> NodeDef
    outputs: dict[str, list[str]] = field(default_factory=dict)  # node name -> flat refs of its outputs


class Flattener:
    """Builds the flat GraphDef of one signature (see the module docstring)."""

    def __init__(self, path: Path, meta_graph, checkpoint: Checkpoint | None) -> None:
        self.path = path
        self.meta = meta_graph
        self.checkpoint = checkpoint
        self.functions = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        self.out = graph_pb2.GraphDef()
        self.out.versions.CopyFrom(meta_graph.graph_def.versions)
        self._names: set[str] = set()
        self._object_keys: dict[int, str] | None = None
        self._depth = 0

    # -- names and variables --------------------------------------------------

    def _add(self, name: str, op: str, inputs=(), attrs=None):
        base, i = name, 0
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        node = self.out.node.add(name=name, op=op, input=list(inputs))
        for key, value in (attrs or {}).items():
            node.attr[key].CopyFrom(value)
        return node

    def _require_checkpoint(self) -> Checkpoint:
        if self.checkpoint is None:
            raise ModelLoadError(f"{self.path}: the model captures variables but has no variables/ checkpoint")
        return self.checkpoint

    def _checkpoint_key(self, node_id: int) -> str:
        checkpoint = self._require_checkpoint()
        if self._object_keys is None:
            graph = checkpoint.object_graph()
            self._object_keys = {i: a.checkpoint_key for i, n in enumerate(graph.nodes) for a in n.attributes
                                 if a.name == "VARIABLE_VALUE"}
        if node_id not in self._object_keys:
            raise ModelLoadError(f"{self.path}: captured object {node_id} has no variable value in the checkpoint")
        return self._object_keys[node_id]

    def _variable(self, node_id: int) -> str:
        key = self._checkpoint_key(node_id)
        name = f"variables/{key.split('/.ATTRIBUTES')[0]}"
        if name in self._names:
            return name
        value = self._require_checkpoint().tensor(key)
        node = self._add(name, "Const")
        node.attr["dtype"].type = _tf_dtype(value)
        tensor = node.attr["value"].tensor
        tensor.dtype = _tf_dtype(value)
        tensor.tensor_shape.dim.extend([graph_pb2.TensorShapeProto.Dim(size=int(d)) for d in value.shape])
        tensor.tensor_content = np.ascontiguousarray(value).tobytes()
        return node.name

    def _captures(self, call) -> dict[str, int]:
        """``{captured input ref: object id}`` of a main-graph call (its last inputs are the bound inputs)."""
        function = call.attr["f"].func.name
        concrete = self.meta.object_graph_def.concrete_functions.get(function)
        bound = list(concrete.bound_inputs) if concrete is not None else []
        data = [i for i in call.input if not i.startswith("^")]
        if len(bound) > len(data):
            raise ModelLoadError(f"{self.path}: call {call.name!r} binds {len(bound)} objects to {len(data)} inputs")
        return dict(zip(data[len(data) - len(bound):], bound)) if bound else {}

    # -- the main graph -------------------------------------------------------

    def flatten(self, signature_name: str = SIGNATURE) -> graph_pb2.GraphDef:
        signatures = self.meta.signature_def
        if signature_name not in signatures:
            if len(signatures) != 1:
                raise ModelLoadError(f"{self.path}: no {signature_name!r} signature (signatures: "
                                     f"{', '.join(sorted(signatures)) or 'none'})")
            signature_name = next(iter(signatures))
        signature = signatures[signature_name]
        main = _Scope(prefix="")
        main.nodes = {n.name: n for n in self.meta.graph_def.node}
        for key in sorted(signature.inputs):
            info = signature.inputs[key]
            node = self._add(key, "Placeholder")
            node.attr["dtype"].type = info.dtype
            node.attr["shape"].shape.CopyFrom(info.tensor_shape)
            main.outputs[_node_of(info.name)] = [node.name]
        needed = self._needed(main, [signature.outputs[k].name for k in signature.outputs])
        captured: dict[str, int] = {}
        for name in needed:
            if main.nodes[name].op in CALL_OPS:
                captured.update(self._captures(main.nodes[name]))
        for name in needed:
            node = main.nodes[name]
            if name in main.outputs:
                continue
            if node.op in ("VarHandleOp", "Placeholder") and name in captured:
                main.outputs[name] = [self._variable(captured[name])]
            elif node.op == "Placeholder":
                raise ModelLoadError(f"{self.path}: the {signature_name!r} signature needs placeholder {name!r}, "
                                     "which is neither a signature input nor a captured variable")
            else:
                self._emit(main, node)
        for key in sorted(signature.outputs):
            source = self._ref(main, signature.outputs[key].name, main_graph=True)
            self._add(key, "Identity", [source])
        self._prune([k for k in signature.outputs])
        return self.out

    def _needed(self, scope: _Scope, refs: list[str]) -> list[str]:
        """Main-graph nodes the refs depend on (data inputs only), inputs before their readers."""
        order: list[str] = []
        state: dict[str, int] = {}
        stack = [(_node_of(r), False) for r in reversed(refs)]
        while stack:
            name, done = stack.pop()
            if done:
                if state.get(name) != 2:
                    state[name] = 2
                    order.append(name)
                continue
            if state.get(name):
                if state[name] == 1:
                    raise ModelLoadError(f"{self.path}: the graph has a cycle through node {name!r}")
                continue
            if name not in scope.nodes:
                raise ModelLoadError(f"{self.path}: the signature reads node {name!r}, which the graph lacks")
            state[name] = 1
            stack.append((name, True))
            if name in scope.outputs:
                continue
            for ref in scope.nodes[name].input:
                if not ref.startswith("^") and state.get(_node_of(ref)) != 2:
                    stack.append((_node_of(ref), False))
        return order

    # -- nodes and function bodies ---------------------------------------------

    def _ref(self, scope: _Scope, ref: str, main_graph: bool = False) -> str:
        """The flat ref of a reference: ``node[:k]`` in the main graph; ``arg`` or ``node:arg:i`` in a function."""
        if main_graph:
            node, _, port = ref.partition(":")
            index = int(port) if port else 0
        else:
            if ref in scope.args:
                return scope.args[ref]
            parts = ref.split(":")
            if len(parts) == 2 and parts[0] in scope.args:  # an element of a list argument
                raise UnsupportedOperatorError(f"{self.path.name}: list argument {ref!r}", op_type="FunctionDef",
                                               domain="tensorflow")
            if len(parts) != 3:
                raise ModelLoadError(f"{self.path}: reference {ref!r} in function {scope.prefix!r} names no argument")
            node, arg, i = parts
            index = self._output_index(scope, node, arg, int(i))
        outputs = scope.outputs.get(node)
        if outputs is None or index >= len(outputs):
            raise ModelLoadError(f"{self.path}: {ref!r} reads output {index} of node {node!r}, which has "
                                 f"{0 if outputs is None else len(outputs)}")
        return outputs[index]

    def _output_index(self, scope: _Scope, node: str, arg: str, i: int) -> int:
        op = scope.nodes[node].op if node in scope.nodes else ""
        names = OUTPUT_ARGS.get(op)
        if names is None and op in self.functions:
            names = tuple(a.name for a in self.functions[op].signature.output_arg)
        if names is None or arg not in names:
            return i
        return names.index(arg) + i

    def _emit(self, scope: _Scope, node) -> None:
        inputs = [self._ref(scope, r, main_graph=scope.prefix == "") for r in node.input if not r.startswith("^")]
        name = f"{scope.prefix}{node.name}"
        function = node.attr["f"].func.name if node.op in CALL_OPS else (node.op if node.op in self.functions else "")
        if function:
            scope.outputs[node.name] = self._inline(name, function, inputs)
        elif node.op in IF_OPS:
            scope.outputs[node.name] = self._select(name, node, inputs)
        elif node.op == "ReadVariableOp":
            scope.outputs[node.name] = [self._add(name, "Identity", inputs[:1]).name]
        elif node.op == "ResourceGather":
            axis = self._add(f"{name}/axis", "Const")
            axis.attr["dtype"].type = 3
            axis.attr["value"].tensor.dtype = 3
            axis.attr["value"].tensor.int_val.append(0)
            gather = self._add(name, "GatherV2", [*inputs[:2], axis.name],
                               {"batch_dims": node.attr["batch_dims"]} if "batch_dims" in node.attr else None)
            scope.outputs[node.name] = [gather.name]
        else:
            flat = self._add(name, node.op, inputs, node.attr)
            count = _output_count(node)
            scope.outputs[node.name] = [flat.name] + [f"{flat.name}:{k}" for k in range(1, count)]

    def _inline(self, name: str, function: str, inputs: list[str]) -> list[str]:
        body = self.functions.get(function)
        if body is None:
            raise ModelLoadError(f"{self.path}: call {name!r} names function {function!r}, which the library lacks")
        args = body.signature.input_arg
        if len(args) != len(inputs):
            raise UnsupportedOperatorError(f"{self.path.name}: call {name!r} passes {len(inputs)} values to "
                                           f"{function} of {len(args)} arguments (list arguments are not supported)",
                                           node=name, op_type="StatefulPartitionedCall", domain="tensorflow")
        self._depth += 1
        if self._depth > 64:
            raise ModelLoadError(f"{self.path}: function calls nest deeper than 64 (recursion through {function})")
        scope = _Scope(prefix=f"{name}/", args={a.name: v for a, v in zip(args, inputs)},
                       nodes={n.name: n for n in body.node_def})
        if len(scope.nodes) != len(body.node_def):
            raise ModelLoadError(f"{self.path}: function {function} repeats a node name")
        for node in node_order(body.node_def, f"{self.path}: function {body.signature.name} has a cycle through"):
            self._emit(scope, node)
        results = []
        for out in body.signature.output_arg:
            if out.name not in body.ret:
                raise ModelLoadError(f"{self.path}: function {function} returns no {out.name!r}")
            results.append(self._ref(scope, body.ret[out.name]))
        self._depth -= 1
        return results

    def _select(self, name: str, node, inputs: list[str]) -> list[str]:
        """``If``/``StatelessIf``: both branch functions inlined, each output a ``SelectV2`` on the condition."""
        if not inputs:
            raise ModelLoadError(f"{self.path}: {node.op} node {name!r} has no condition")
        condition = inputs[0]
        if node.attr["Tcond"].type not in (0, 10):  # a number or string: TensorFlow takes non-zero/non-empty as true
            cast = self._add(f"{name}/cond", "Cast", [condition])
            cast.attr["DstT"].type = 10
            condition = cast.name
        then = self._inline(f"{name}/then", node.attr["then_branch"].func.name, inputs[1:])
        other = self._inline(f"{name}/else", node.attr["else_branch"].func.name, inputs[1:])
        if len(then) != len(other):
            raise ModelLoadError(f"{self.path}: the branches of {name!r} return {len(then)} and {len(other)} values")
        return [self._add(f"{name}/select_{i}", "SelectV2", [condition, t, e]).name
                for i, (t, e) in enumerate(zip(then, other))]

    def _prune(self, outputs: list[str]) -> None:
        """Keep the nodes the outputs need, and every Placeholder (the signature inputs)."""
        by_name = {n.name: n for n in self.out.node}
        keep, stack = set(), list(outputs)
        while stack:
            name = stack.pop()
            if name in keep or name not in by_name:
                continue
            keep.add(name)
            stack.extend(_node_of(r) for r in by_name[name].input if not r.startswith("^"))
        nodes = [n for n in self.out.node if n.name in keep or n.op == "Placeholder"]
        del self.out.node[:]
        self.out.node.extend(nodes)


def _node_of(ref: str) -> str:
    return ref.lstrip("^").split(":")[0]


def _output_count(node) -> int:
    """How many outputs a copied node has, as far as later references need (at least one)."""
    if node.op in OUTPUT_ARGS:
        return len(OUTPUT_ARGS[node.op])
    for key in ("num_split", "num"):
        if key in node.attr and node.attr[key].i > 0:
            return int(node.attr[key].i)
    if "T" in node.attr and node.attr["T"].WhichOneof("value") == "list":  # IdentityN
        return max(1, len(node.attr["T"].list.type))
    if "size_splits" in node.attr:
        return max(1, len(node.attr["size_splits"].list.i))
    return 1


def _tf_dtype(value: np.ndarray) -> int:
    from .reader import DTYPES

    for code, dtype in DTYPES.items():
        if dtype.numpy == value.dtype:
            return code
    raise ModelLoadError(f"a variable of numpy dtype {value.dtype}")


def flatten(path: Path):
    """The serving signature of the SavedModel whose ``saved_model.pb`` is ``path``, as a flat GraphDef."""
    meta = read_saved_model(path)
    index = path.parent / "variables" / "variables.index"
    checkpoint = Checkpoint(path.parent / "variables" / "variables") if index.exists() else None
    return Flattener(path, meta, checkpoint).flatten()
