"""What an upgrade adapter may see and do while a graph is being read.

A :class:`Builder` resolves value names through the enclosing scopes (a
subgraph sees its parents' values), tells whether a value is read anywhere,
and creates constants, values and nodes with model-wide unique names.
"""
from __future__ import annotations

from typing import Any, overload

import numpy as np

from litert.ir import DType, Graph, Node, Value


class Names:
    """Model-wide sets of used value names and node names."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self.nodes: set[str] = set()

    @staticmethod
    def _fresh(base: str, used: set[str]) -> str:
        name, i = base, 0
        while name in used or not name:
            i += 1
            name = f"{base}_{i}"
        used.add(name)
        return name

    def value(self, base: str) -> str:
        return self._fresh(base, self.values)

    def node(self, base: str) -> str:
        return self._fresh(base, self.nodes)


class Scope:
    """One graph under construction, chained to the graph that encloses it."""

    def __init__(self, graph: Graph, parent: Scope | None = None) -> None:
        self.graph = graph
        self.parent = parent

    def lookup(self, name: str) -> Value | None:
        scope: Scope | None = self
        while scope is not None:
            value = scope.graph.values.get(name)
            if value is not None:
                return value
            scope = scope.parent
        return None


class Builder:
    """The toolbox handed to adapters for one node."""

    def __init__(self, names: Names, scope: Scope, used: set[str], node: Node) -> None:
        self.names = names
        self.scope = scope
        self.used = used
        self.node = node

    # -- looking ------------------------------------------------------------

    def value(self, name: str) -> Value | None:
        return self.scope.lookup(name) if name else None

    def const(self, name: str) -> np.ndarray | None:
        value = self.value(name)
        return value.const if value is not None else None

    def rank(self, name: str) -> int | None:
        value = self.value(name)
        if value is None:
            return None
        if value.const is not None:
            return value.const.ndim
        return len(value.shape) if value.shape is not None else None

    def shape(self, name: str):
        value = self.value(name)
        if value is None:
            return None
        return tuple(value.const.shape) if value.const is not None else value.shape

    @overload
    def dtype(self, name: str, default: DType) -> DType: ...

    @overload
    def dtype(self, name: str, default: None = None) -> DType | None: ...

    def dtype(self, name: str, default: DType | None = None) -> DType | None:
        value = self.value(name)
        return value.dtype if value is not None and value.dtype is not None else default

    def is_used(self, name: str) -> bool:
        return bool(name) and name in self.used

    # -- making -------------------------------------------------------------

    def add_const(self, array: Any, hint: str, dtype: Any = None) -> str:
        arr = np.asarray(array, dtype=dtype)
        name = self.names.value(f"{self.node.name}/{hint}")
        self.scope.graph.values[name] = Value(name, DType.from_numpy(arr.dtype), tuple(arr.shape), const=arr)
        return name

    def new_value(self, hint: str, dtype: DType | None = None, shape=None, kind: str = "tensor") -> str:
        name = self.names.value(f"{self.node.name}/{hint}")
        self.scope.graph.values[name] = Value(name, dtype, None if shape is None else tuple(shape), kind=kind)
        return name

    def make(self, op_type: str, inputs: list[str], outputs: list[str], hint: str | None = None, **attrs) -> Node:
        name = self.names.node(f"{self.node.name}/{hint or op_type}")
        return Node(op_type, list(inputs), list(outputs), dict(attrs), name=name, domain="")
