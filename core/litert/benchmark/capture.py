"""Node hooks that keep intermediate tensors (``NodeHooks`` of ``litert.backend``).

``Session.predict(inputs, hooks=...)`` calls ``after_node`` with each node's
outputs; this keeps a host copy of the ones asked for (all when ``names`` is
None), and the order the nodes ran in, which is what ``litert compare`` walks
to find the first diverging node.  Copies, because a backend may reuse a
buffer once its last reader has run.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir import Node


def node_label(node: Node) -> str:
    """A node's name, or ``OpType(first output)`` for unnamed nodes."""
    return node.name or f"{node.op_type}({next((o for o in node.outputs if o), '?')})"


def to_host(value: Any) -> Any:
    to_host_fn = getattr(value, "to_host", None)
    return to_host_fn() if to_host_fn is not None else value


@dataclass(frozen=True)
class NodeRecord:
    """One node run: label, op type, backend, and its input and output value names."""

    node: str
    op_type: str
    device: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class TensorCapture:
    """Keeps copies of node outputs during one ``predict``."""

    def __init__(self, names: Iterable[str] | None = None):
        self.names = None if names is None else set(names)
        self.tensors: dict[str, np.ndarray] = {}
        #: tensor name -> the record of the node that produced it
        self.producer: dict[str, NodeRecord] = {}
        self.records: list[NodeRecord] = []

    def before_node(self, node: Node, backend: str) -> None:
        pass

    def after_node(self, node: Node, backend: str, outputs: list[Any]) -> None:
        record = NodeRecord(node_label(node), node.qualified_op, backend,
                            tuple(n for n in node.inputs if n), tuple(n for n in node.outputs if n))
        self.records.append(record)
        for name, value in zip(node.outputs, outputs):
            if not name or value is None or (self.names is not None and name not in self.names):
                continue
            self.tensors[name] = np.array(to_host(value), copy=True)
            self.producer[name] = record
