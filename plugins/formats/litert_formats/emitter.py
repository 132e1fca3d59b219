"""The part of the readers' graph builders that does not depend on the file format.

The ``.ms``, TFLite and TensorFlow readers hand their operator readers a
builder with one protocol: ``inp``/``out``/``const_value`` resolve an
operator's inputs and outputs (format-specific), and the methods here make
constants, fresh names and nodes.  Nodes are named after the source operator
(:meth:`NodeEmitter.label`), so an IR node can be traced back to the file.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from litert.errors import UnsupportedOperatorError
from litert.ir import DType, Graph, Node, Value

from . import transposes

#: the source operator type of a builder (an ``.ms`` node, a TFLite operator, a TensorFlow NodeDef)
Op = TypeVar("Op")


class NodeEmitter(Generic[Op]):
    """Constants, fresh names and node emission over ``self.graph``; subclasses resolve inputs and name nodes."""

    graph: Graph
    _counter = 0

    # -- what a format says -------------------------------------------------------

    def label(self, op: Op) -> str:
        """The source operator's name in the names of the nodes and values made for it."""
        raise NotImplementedError

    def inp(self, op: Op, i: int) -> str:
        """The IR value input ``i`` of ``op`` computes on."""
        raise NotImplementedError

    def const_value(self, op: Op, i: int) -> np.ndarray | None:
        """Input ``i`` of ``op`` when it is a constant, else None."""
        raise NotImplementedError

    def unsupported(self, op: Op, what: str) -> UnsupportedOperatorError:
        """The error for ``what`` of ``op`` litert cannot read (naming the operator as the format does)."""
        raise NotImplementedError

    # -- values -------------------------------------------------------------------

    def fresh(self, base: str) -> str:
        return self.graph.unique_name(base)

    def const(self, array: Any, base: str) -> str:
        array = np.asarray(array)
        name = self.fresh(base)
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
        return name

    def int64(self, values: Any, base: str) -> str:
        return self.const(np.asarray(values, np.int64), base)

    def int64_input(self, op: Op, i: int) -> str:
        """Input ``i`` as int64 (ONNX wants int64 shapes, axes and sizes; the source formats store int32)."""
        data = self.const_value(op, i)
        if data is not None:
            return self.int64(data, f"{self.inp(op, i)}_i64")
        return self.emit("Cast", [self.inp(op, i)], None, op, to=DType.INT64.value)[0]

    def permuted(self, name: str, perm: Sequence[int]) -> str:
        """``name`` transposed: a numpy view for a constant, a Transpose node otherwise."""
        value = self.graph.values[name]
        if value.const is not None:
            moved = value.const.transpose(perm)
            new = self.fresh(f"{name}_{''.join(map(str, perm))}")
            quant = value.quant
            if quant is not None and quant.axis is not None:  # the channel axis moves with the data
                quant = quant.replace(axis=list(perm).index(quant.axis))
            self.graph.values[new] = Value(new, value.dtype, tuple(moved.shape), const=moved, quant=quant)
            return new
        t = transposes.transpose_node(self.graph, name, perm)
        self.graph.nodes.append(t)
        return t.outputs[0]

    def rank(self, name: str, op: Op) -> int:
        """The rank of value ``name`` (shape inference over the graph so far when it has none yet)."""
        value = self.shaped_value(name)
        if value is None or value.shape is None:
            raise self.unsupported(op, f"an input ({name!r}) of unknown rank")
        return len(value.shape)

    def swap_last(self, name: str, op: Op) -> str:
        """``name`` with its last two axes swapped (:meth:`permuted`)."""
        return self.permuted(name, transposes.swap_last_axes(self.rank(name, op)))

    def shaped_value(self, name: str) -> Value | None:
        """The value ``name``, with a shape when shape inference over the graph so far can give it one."""
        from litert.schema.inference import infer_shapes

        value = self.graph.values.get(name)
        if value is None or value.shape is None:
            infer_shapes(self.graph)
            value = self.graph.values.get(name)
        return value

    # -- nodes --------------------------------------------------------------------

    def node(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str] | None, op: Op, **attrs: Any) -> Node:
        """A node for ``op`` (not yet in the graph); ``outputs`` None gives it one fresh output."""
        self._counter += 1
        label = self.label(op)
        outs = outputs if outputs is not None else [self.fresh(f"{label}_{op_type.lower()}")]
        for o in outs:
            self.graph.value(o)
        return Node(op_type, list(inputs), list(outs), dict(attrs), name=f"{label}/{op_type}_{self._counter}")

    def emit(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str] | None, op: Op,
             **attrs: Any) -> list[str]:
        """Append a node for ``op``; its output names."""
        node = self.node(op_type, inputs, outputs, op, **attrs)
        self.graph.nodes.append(node)
        return node.outputs

    def channels_first(self, node: Node, data_inputs: Sequence[int] = (0,)) -> None:
        """Add ``node`` (an IR operator on NCHW data) between Transposes from and to NHWC."""
        self.graph.nodes.extend(transposes.wrap(self.graph, node, list(data_inputs), transposes.NHWC_TO_NCHW,
                                                transposes.NCHW_TO_NHWC))
