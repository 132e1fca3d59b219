"""What a graph pass is, and the context passes run in."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np

from ..ir import Graph, Model, Node
from ..limits import fold_limit as _fold_limit
from ..record import Record

#: evaluates one node on host arrays; provided by a backend (the CPU's)
Evaluator = Callable[[Node, list[Any], Graph], list[Any]]


class PassContext:
    """What passes may use: an evaluator to fold constants with, and the folding limit.

    (Plain classes here, not dataclasses: :mod:`litert.record` says why.)
    """

    def __init__(self, evaluator: Evaluator | None = None, fold_limit: int | None = None) -> None:
        self.evaluator = evaluator
        #: constants larger than this are not produced by folding (bytes; ``LITERT_FOLD_LIMIT``)
        self.fold_limit = _fold_limit() if fold_limit is None else fold_limit


class PassResult(Record):
    """What a pass changed: how many rewrites, and a few words on each (a session keeps them in ``pass_results``)."""

    FIELDS = ("name", "changes", "details")

    def __init__(self, name: str, changes: int = 0, details: list[str] | None = None) -> None:
        self.name = name
        self.changes = changes
        self.details: list[str] = [] if details is None else details

    def record(self, detail: str) -> None:
        """Count one rewrite and say what it was."""
        self.changes += 1
        self.details.append(detail)

    def __str__(self) -> str:
        extra = f" ({', '.join(self.details[:6])}{', ...' if len(self.details) > 6 else ''})" if self.details else ""
        return f"{self.name}: {self.changes} change{'s' if self.changes != 1 else ''}{extra}"


class Pass(ABC):
    """A graph rewrite.  ``run`` edits ``model.graph`` in place."""

    name: str = ""
    #: when a plugin's pass runs: "lowering" (always, after litert's own lowering: a pass that makes a
    #: graph runnable) or "general" (only with ``--optimize general``, after litert's pipeline); litert's
    #: own passes are placed by the ``LOWERING`` and ``GENERAL`` tuples of :mod:`litert.passes`
    level: str = "general"

    @abstractmethod
    def run(self, model: Model, ctx: PassContext) -> PassResult: ...


def has_op(graph: Graph, *op_types: str) -> bool:
    """Whether ``graph`` has a node of one of ``op_types`` (ai.onnx domain): a pass that rewrites only those
    returns before building its use maps (on a long graph without any, those maps are most of its cost)."""
    wanted = set(op_types)
    if wanted.isdisjoint(map(_op_type, graph.nodes)):  # the common answer, at C speed (this runs per pass)
        return False
    return any(node.op_type in wanted and node.domain == "" for node in graph.nodes)


_op_type = attrgetter("op_type")


def replace_uses(graph: Graph, old: str, new: str) -> None:
    """Make every reader of ``old`` read ``new`` instead (outputs included)."""
    for node in graph.nodes:
        node.inputs = [new if n == old else n for n in node.inputs]
    graph.outputs = [new if n == old else n for n in graph.outputs]


class Renames:
    """:func:`replace_uses` for a pass that removes many nodes in one walk: each call of it scans every node, so
    a pass calling it per removed node is quadratic (a 8,000-node Identity chain took 16 s to optimise).
    :meth:`add` records ``old -> new``; :meth:`resolve` gives a node its renamed inputs just before the walk
    looks at it (what the eager rewrite would have left there); :meth:`apply` renames the rest at the end."""

    def __init__(self) -> None:
        self.map: dict[str, str] = {}

    def add(self, old: str, new: str) -> None:
        self.map[old] = self.final(new)

    def final(self, name: str) -> str:
        seen = 0
        while name in self.map and seen <= len(self.map):  # chains are acyclic in a validated graph; bounded anyway
            name = self.map[name]
            seen += 1
        return name

    def resolve(self, node: Node) -> None:
        if self.map and any(n in self.map for n in node.inputs):
            node.inputs = [self.final(n) for n in node.inputs]

    def apply(self, graph: Graph) -> None:
        if self.map:
            for node in graph.nodes:
                self.resolve(node)
            if any(n in self.map for n in graph.outputs):
                graph.outputs = [self.final(n) for n in graph.outputs]


def const_of(graph: Graph, name: str) -> np.ndarray | None:
    value = graph.values.get(name) if name else None
    return value.const if value is not None else None


def single_consumer(graph: Graph, name: str, consumers: dict[str, list[Node]]) -> Node | None:
    users = consumers.get(name, [])
    if len(users) == 1 and name not in graph.outputs:
        return users[0]
    return None


def read_by_subgraph(consumers: dict[str, list[Node]], name: str) -> bool:
    """True when a control-flow body reads ``name`` from the enclosing scope
    (renaming it would need rewriting the body, so rewrites leave it alone)."""
    return any(name in sub.outer_references() for user in consumers.get(name, []) for sub in user.subgraphs())
