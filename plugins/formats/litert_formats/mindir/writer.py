"""Write the litert IR as a MindSpore ``.mindir`` file (:class:`MindirSerializer`).

The file has the shape ``mindspore.export`` gives its own (MindIR version 3):
graph inputs and parameters named ``<graph>:<name>``, one ``PrimitiveProto``
per distinct primitive (classic primitives carry their arguments as
attributes, primitive functions take them as ``Constant`` value-node
inputs), several outputs gathered by a ``MakeTuple``.  What each IR operator
becomes is the table in :mod:`.write_ops`.

Weights go inline unless they pass :attr:`MindirSerializer.external_threshold`
bytes; then they go, as MindSpore splits large models, to
``<stem>_variables/data_0`` beside the file (64-byte header, each tensor
64-byte aligned) and the parameters point there with ``external_data``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from litert.atomic import atomic_write, write_bytes
from litert.errors import InvalidModelError, LitertError, UnsupportedOperatorError
from litert.formats import Serializer
from litert.ir import DType, Graph, Model, Node, Value
from litert.logs import Log

from . import output_names, tensors, values
from .mind_ir_pb2 import AttributeProto, ModelProto, PrimitiveProto
from .signatures import FUNCTIONS

log = Log("litert.formats.mindir")

MIND_IR_VERSION = 3  # primitive functions with arguments as inputs
IR_VERSION = "1.1"
#: MindSpore splits at 1 GB of parameters; the whole file must stay under protobuf's 2 GB
EXTERNAL_THRESHOLD = 1 << 30
_ALIGN = 64


def _safe(name: str) -> str:
    """MindSpore splits names at the first ':' (graph prefix): keep them out of local names."""
    return re.sub(r"[:\s]", "_", name) or "v"


class NodeWriter:
    """What a :mod:`.write_ops` emitter sees for one IR node."""

    def __init__(self, writer: ModelWriter, node: Node) -> None:
        self.w = writer
        self.node = node
        self.name = node.name or (node.outputs[0] if node.outputs else node.op_type)

    def unsupported(self, why: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"node {self.name!r} ({self.node.qualified_op}): cannot be written as MindIR: {why}",
            node=self.name, op_type=self.node.op_type, domain=self.node.domain,
        )

    # -- reading the IR node ------------------------------------------------------

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    def has(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def value(self, i: int) -> Value:
        return self.w.graph.values[self.node.inputs[i]]

    def const(self, i: int) -> np.ndarray | None:
        return self.value(i).const if self.has(i) else None

    def shape(self, i: int) -> tuple | None:
        value = self.value(i)
        return tuple(value.const.shape) if value.const is not None else value.shape

    def rank(self, i: int) -> int:
        shape = self.shape(i)
        if shape is None:
            raise self.unsupported(f"the rank of input {i} is unknown")
        return len(shape)

    def static_shape(self, i: int) -> tuple[int, ...]:
        shape = self.shape(i)
        if shape is None or not all(isinstance(d, int) for d in shape):
            raise self.unsupported(f"needs the static shape of input {i} (it is {shape})")
        return tuple(shape)

    def dtype(self, i: int) -> DType:
        value = self.value(i)
        return DType.from_numpy(value.const.dtype) if value.const is not None else (value.dtype or DType.FLOAT32)

    def out_shape(self, k: int = 0) -> tuple | None:
        return self.w.graph.values[self.node.outputs[k]].shape

    def x(self, i: int) -> str:
        """The MindIR name holding IR input ``i`` (a constant becomes a parameter)."""
        if not self.has(i):
            raise self.unsupported(f"input {i} is missing")
        return self.w.ref(self.node.inputs[i])

    # -- writing --------------------------------------------------------------------

    def out_abstract(self, k: int = 0) -> tuple | None:
        """(dtype, shape) of IR output ``k`` when known: the abstract of a shape-preserving chain."""
        value = self.w.graph.values.get(self.node.outputs[k])
        if value is None or value.dtype is None or value.shape is None:
            return None
        return value.dtype, value.shape

    def call(self, op: str, args: list, attrs: dict[str, Any] | None = None, function: bool = True,
             abstract: tuple | None = None) -> str:
        """A node applying primitive ``op``: ``str`` args are MindIR names, anything else a Constant.

        ``abstract`` (dtype, shape) is written as the node's "shape" attribute; outputs bound to IR
        values get theirs in :meth:`bind`.
        """
        if function and op in FUNCTIONS:
            sig = FUNCTIONS[op]
            if len(args) < len(sig.args):
                missing = sig.args[len(args):]
                if not all(a in sig.defaults for a in missing):
                    raise InvalidModelError(f"{op}: arguments {missing} have no default")
                args = list(args) + [sig.defaults[a] for a in missing]
        refs = [a if isinstance(a, str) else self.w.literal(a) for a in args]
        out = self.w.apply(self.w.primitive(op, attrs or {}, function), refs, self.name)
        if abstract is not None:
            self.w.set_abstract(out, *abstract)
        return out

    def item(self, ref: str, index: int) -> str:
        return self.call("TupleGetItem", [ref, index], function=False)

    def bind(self, ref: str, k: int = 0) -> None:
        self.w.bound[self.node.outputs[k]] = ref
        abstract = self.out_abstract(k)
        if abstract is not None:
            self.w.set_abstract(ref, *abstract)


class ModelWriter:
    """Builds one ModelProto from an IR graph."""

    def __init__(self, model: Model, external_dir: tuple[Path, str] | None) -> None:
        from .write_ops import WRITERS

        self.writers = WRITERS
        self.model = model
        self.graph: Graph = model.graph
        self.proto = ModelProto(ir_version=IR_VERSION, producer_name="litert", producer_version="0.1",
                                model_version=model.metadata.get("mindspore_version", "2.3.0"),
                                mind_ir_version=MIND_IR_VERSION, little_endian=True)
        self.g = self.proto.graph
        self.g.name = _safe(self.graph.name or "main") + "_graph"
        self.prefix = self.g.name + ":"
        self.bound: dict[str, str] = {}
        self._prims: dict[tuple, str] = {}
        self._counter = 0
        self._used_names: set[str] = set()
        self._nodes: dict[str, Any] = {}  # output name -> NodeProto
        self.external_dir = external_dir

    def fresh(self, base: str) -> str:
        self._counter += 1
        name = f"{self.prefix}{_safe(base)}:{self._counter}"
        return name

    def _local(self, base: str) -> str:
        name, i = _safe(base), 0
        while name in self._used_names:
            i += 1
            name = f"{_safe(base)}_{i}"
        self._used_names.add(name)
        return name

    # -- pieces ------------------------------------------------------------------------

    def primitive(self, op: str, attrs: dict[str, Any], function: bool) -> str:
        key = (op, function, repr(sorted(attrs.items())))
        if key not in self._prims:
            self._counter += 1
            name = f"{op}:{self._counter}"
            prim = self.proto.primitives.add(name=name, op_type=op, instance_name=op.lower())
            prim.prim_type = PrimitiveProto.PRIMITIVE_FUNCTION if function else PrimitiveProto.PRIMITIVE
            for attr_name in sorted(attrs):
                values.encode(prim.attribute.add(), attrs[attr_name], attr_name)
            self._prims[key] = name
        return self._prims[key]

    def apply(self, prim: str, refs: list[str], hint: str) -> str:
        out = self.fresh(hint.split("/")[-1] or prim.split(":")[0])
        node = self.g.node.add(name=out, op_type=f"REF::{prim}")
        node.input.extend(refs)
        node.output.append(out)
        self._nodes[out] = node
        return out

    def set_abstract(self, ref: str, dtype: DType, shape) -> None:
        """The "shape" attribute (output type) of the node producing ``ref``, if it has none yet."""
        node = self._nodes.get(ref)
        if node is None or any(a.name == "shape" for a in node.attribute) or dtype not in tensors.TO_MINDIR:
            return
        values.encode_abstract(node.attribute.add(), dtype, shape)

    def literal(self, value: Any) -> str:
        """A Constant value node (tensors as MindSpore writes them: TENSORS with one tensor)."""
        self._counter += 1
        name = f"ValueNode_{self._counter}"
        node = self.g.node.add(name=name, op_type="Constant")
        node.output.append(name)
        attr = node.attribute.add()
        if isinstance(value, np.ndarray):
            attr.name, attr.type = "value", AttributeProto.TENSORS
            tensors.fill(attr.tensors.add(), value, "constant")
        else:
            values.encode(attr, value, "value")
        return name

    def ref(self, ir_name: str) -> str:
        if ir_name in self.bound:
            return self.bound[ir_name]
        value = self.graph.values.get(ir_name)
        if value is None or not value.is_const:
            raise InvalidModelError(f"value {ir_name!r} is read before it is computed")
        local = self._local(ir_name)
        param = self.g.parameter.add(name=self.prefix + local, ref_key=local)
        tensors.fill(param, np.asarray(value.const), f"constant {ir_name}")
        self.bound[ir_name] = param.name
        return param.name

    # -- the graph -----------------------------------------------------------------------

    def build(self) -> ModelProto:
        for name in self.graph.inputs:
            value = self.graph.values[name]
            if value.dtype is None or value.shape is None:
                raise InvalidModelError(f"input {name!r} has no dtype/shape")
            vi = self.g.input.add(name=self.prefix + self._local(name))
            t = vi.tensor.add(data_type=tensors.mindir_dtype(value.dtype, f"input {name}"))
            t.dims.extend(d if isinstance(d, int) else -1 for d in value.shape)
            self.bound[name] = vi.name
        for node in self.graph.nodes:
            self._node(node)
        refs = [self.ref(name) for name in self.graph.outputs]
        if len(refs) == 1:
            self._output(refs[0], self.graph.values[self.graph.outputs[0]])
        else:  # as mindspore.export: one output, the MakeTuple of all
            tup = self.apply(self.primitive("MakeTuple", {}, False), refs, "outputs")
            self.g.output.add(name=tup)
        output_names.record(self.proto.user_info, self.graph)
        if self.external_dir is not None:
            self._externalize()
        return self.proto

    def _output(self, ref: str, value: Value) -> None:
        vi = self.g.output.add(name=ref)
        if value.dtype is not None and value.shape is not None:
            t = vi.tensor.add(data_type=tensors.mindir_dtype(value.dtype, f"output {value.name}"))
            t.dims.extend(d if isinstance(d, int) else -1 for d in value.shape)

    def _node(self, node: Node) -> None:
        emit = self.writers.get((node.domain, node.op_type))
        ctx = NodeWriter(self, node)
        if emit is None:
            raise UnsupportedOperatorError(
                f"node {ctx.name!r}: operator {node.qualified_op} has no MindIR mapping in litert's writer",
                node=ctx.name, op_type=node.op_type, domain=node.domain)
        try:
            emit(ctx)
        except LitertError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as err:
            raise ctx.unsupported(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
        for k, out in enumerate(node.outputs):
            if out and out not in self.bound:
                users = [n.name for n in self.graph.nodes if out in n.inputs] + \
                        (["graph output"] if out in self.graph.outputs else [])
                if users:
                    raise ctx.unsupported(f"output {k} ({out}) is read by {users[0]} but has no MindIR counterpart")

    def _externalize(self) -> None:
        """Move every parameter's bytes to ``<dir>/<stem>_variables/data_0`` (see the module docstring)."""
        if self.external_dir is None:
            return
        folder, stem = self.external_dir
        variables = folder / f"{stem}_variables"
        variables.mkdir(parents=True, exist_ok=True)
        location = f"{stem}_variables/data_0"
        with atomic_write(folder / location) as f:
            header = bytes([1]) + bytes(_ALIGN - 1)  # byte 0: written little-endian
            f.write(header)
            offset = _ALIGN
            for param in self.g.parameter:
                data = param.raw_data
                f.write(data + bytes(-len(data) % _ALIGN))
                param.ClearField("raw_data")
                param.external_data.location = location
                param.external_data.offset = offset
                param.external_data.length = len(data)
                offset += len(data) + (-len(data) % _ALIGN)


class MindirSerializer(Serializer):
    """Writes ``.mindir`` files that ``mindspore.load`` + ``nn.GraphCell`` run."""

    name = "mindir"
    extensions = (".mindir",)

    def __init__(self, external_threshold: int = EXTERNAL_THRESHOLD) -> None:
        self.external_threshold = external_threshold

    def save(self, model: Model, path: Path) -> None:
        from litert.schema.inference import infer_shapes

        path = Path(path)
        try:
            infer_shapes(model.graph)
        except LitertError as err:
            log.warning("shape inference before writing MindIR failed: %s", err)
        external = None
        if model.graph.weight_bytes() > self.external_threshold:
            external = (path.parent, path.stem)
        proto = ModelWriter(model, external).build()
        try:
            write_bytes(path, proto.SerializeToString())
        except OSError as err:
            raise InvalidModelError(f"{path}: cannot write ({err})") from None
