"""Place every node on a backend and cut the graph into partitions.

The algorithm is onnxruntime's: backends are asked in the user's order;
the first that accepts a node gets it (a claimed node is never stolen), and
the CPU backend, last, must take whatever is left.  Nodes are then grouped
into maximal partitions per backend with a topological walk that keeps
extending the current partition while a ready node of the same backend
exists.  Where a value crosses from one backend to another, a device copy is
recorded.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from .backend import HOST, Backend
from .errors import UnsupportedOperatorError
from .ir import Graph

log = logging.getLogger("litert.scheduler")


@dataclass
class NodePlacement:
    """Where one node runs, and why each earlier backend refused it."""

    node: str
    op_type: str
    backend: str
    refused: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        why = "; ".join(f"{b}: {r}" for b, r in self.refused.items())
        return f"{self.node} ({self.op_type}) -> {self.backend}" + (f"  [refused by {why}]" if why else "")


@dataclass
class Partition:
    """A maximal run of nodes on one backend, as a standalone subgraph."""

    backend: str
    graph: Graph
    index: int


@dataclass(frozen=True)
class DeviceCopy:
    """``value`` moves from ``source``'s memory to ``target``'s before partition
    ``partition`` reads it (-1: a model output going back to the host)."""

    value: str
    source: str
    target: str
    partition: int = -1


@dataclass
class Schedule:
    placements: list[NodePlacement]
    partitions: list[Partition]
    copies: list[DeviceCopy]

    def summary_lines(self, backend_order: list[str]) -> list[str]:
        """One line per backend: nodes taken, partitions, ops it left to others."""
        total = len(self.placements)
        lines = []
        for name in backend_order:
            taken = [p for p in self.placements if p.backend == name]
            parts = sum(1 for p in self.partitions if p.backend == name)
            line = f"{name}: {len(taken)}/{total} nodes, {parts} partition{'s' if parts != 1 else ''}"
            refused = Counter(p.op_type for p in self.placements if name in p.refused)
            if refused:
                line += "; fell back for " + ", ".join(f"{op} x{n}" for op, n in refused.most_common(6))
            lines.append(line)
        if self.copies:
            lines.append(f"device copies: {len(self.copies)}")
        return lines


def place(graph: Graph, backends: list[Backend], declined: dict[int, dict[str, str]] | None = None
          ) -> list[NodePlacement]:
    """The first backend that accepts each node; ``declined`` (node index -> backend -> why)
    holds the backends that gave up a partition holding the node."""
    placements = []
    for index, node in enumerate(graph.nodes):
        refused: dict[str, str] = dict((declined or {}).get(index, {}))
        chosen = None
        for backend in backends:
            if backend.name in refused:
                continue
            reason = backend.check_node(node, graph)
            if reason is None:
                chosen = backend.name
                break
            refused[backend.name] = reason
        if chosen is None:
            why = "; ".join(f"{b}: {r}" for b, r in refused.items())
            raise UnsupportedOperatorError(
                f"node {node.name!r} ({node.qualified_op}) is supported by no backend ({why})",
                node=node.name, op_type=node.op_type, domain=node.domain,
            )
        placements.append(NodePlacement(node.name, node.qualified_op, chosen, refused))
    return placements


def _group(graph: Graph, owner: list[str], reads: list[list[str]]) -> list[tuple[str, list[int]]]:
    """Topological walk preferring the current backend: maximal partitions (``reads``: each node's reads)."""
    producers = {out: i for i, node in enumerate(graph.nodes) for out in node.outputs if out}
    deps: list[set[int]] = []
    for names in reads:
        deps.append({producers[n] for n in names if n in producers})
    users: dict[int, list[int]] = {i: [] for i in range(len(graph.nodes))}
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    pending = [len(d) for d in deps]
    ready = [i for i, n in enumerate(pending) if n == 0]
    groups: list[tuple[str, list[int]]] = []
    current: str | None = None
    while ready:
        same = [i for i in ready if owner[i] == current]
        if not same:
            current = owner[min(ready)]
            groups.append((current, []))
            same = [i for i in ready if owner[i] == current]
        index = min(same)
        ready.remove(index)
        groups[-1][1].append(index)
        for user in users[index]:
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    return groups


def schedule(graph: Graph, backends: list[Backend]) -> Schedule:
    """Place, partition and connect ``graph`` over ``backends`` (in priority order).

    A backend may then decline some of its partitions as a whole
    (:meth:`Backend.decline_partitions`); their nodes are placed again without
    it, the reason recorded in their placement, until every backend keeps what
    it has.  Each round takes a backend away from some nodes, so this ends.
    """
    declined: dict[int, dict[str, str]] = {}
    by_name = {b.name: b for b in backends}
    while True:
        placements = place(graph, backends, declined)
        result = _connect(graph, placements)
        position = {id(node): i for i, node in enumerate(graph.nodes)}
        again = False
        for name, backend in by_name.items():
            mine = [p for p in result.partitions if p.backend == name]
            if name == HOST or not mine:
                continue  # the host backend is the fallback: it keeps everything
            for which, reason in backend.decline_partitions([p.graph for p in mine]).items():
                for node in mine[which].graph.nodes:
                    declined.setdefault(position[id(node)], {})[name] = f"partition declined: {reason}"
                again = True
        if not again:
            return result


def _connect(graph: Graph, placements: list[NodePlacement]) -> Schedule:
    """Cut the placed graph into partitions and record the device copies between them."""
    owner = [p.backend for p in placements]
    reads = [node.reads() for node in graph.nodes]  # once: walks control-flow bodies
    consumers: dict[str, set[int]] = {}
    for index, names in enumerate(reads):
        for name in names:
            consumers.setdefault(name, set()).add(index)
    where: dict[str, str] = {}  # value -> backend that produces it
    partitions: list[Partition] = []
    copies: list[DeviceCopy] = []
    graph_outputs = set(graph.outputs)
    for number, (backend, indices) in enumerate(_group(graph, owner, reads)):
        members = set(indices)
        nodes = [graph.nodes[i] for i in indices]
        produced = {o for n in nodes for o in n.outputs if o}
        needed: dict[str, None] = {}  # ordered, and a set
        for i in indices:
            for name in reads[i]:
                value = graph.values.get(name)
                if name not in produced and not (value is not None and value.is_const) and name not in needed:
                    needed[name] = None
        outputs = [
            name for node in nodes for name in node.outputs
            if name and (name in graph_outputs or not consumers.get(name, members) <= members)
        ]
        sub = Graph(nodes=nodes, inputs=list(needed), outputs=outputs, name=f"{backend}_{number}")
        for i, node in zip(indices, nodes):
            for name in [*reads[i], *node.outputs]:
                if name and name in graph.values:
                    sub.values[name] = graph.values[name]
        for name in needed:
            source = where.get(name, HOST)  # model inputs are host arrays
            if source != backend:
                copies.append(DeviceCopy(name, source, backend, number))
        for name in outputs:
            where[name] = backend
        partitions.append(Partition(backend, sub, number))
    for name in graph.outputs:
        if where.get(name, HOST) != HOST:
            copies.append(DeviceCopy(name, where[name], HOST))
    return Schedule(placements, partitions, copies)
