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

from collections import Counter

from .backend import HOST, Backend
from .errors import UnsupportedOperatorError
from .ir import Graph
from .ir.validate import in_order
from .record import Record


class NodePlacement(Record):
    """Where one node runs, and why each earlier backend refused it.

    (Plain classes here, not dataclasses: :mod:`litert.record` says why.)
    """

    FIELDS = ("node", "op_type", "backend", "refused")

    def __init__(self, node: str, op_type: str, backend: str, refused: dict[str, str] | None = None) -> None:
        self.node = node
        self.op_type = op_type
        self.backend = backend
        self.refused: dict[str, str] = {} if refused is None else refused

    def __str__(self) -> str:
        why = "; ".join(f"{b}: {r}" for b, r in self.refused.items())
        return f"{self.node} ({self.op_type}) -> {self.backend}" + (f"  [refused by {why}]" if why else "")


class Partition:
    """A maximal run of nodes on one backend, as a standalone subgraph."""

    def __init__(self, backend: str, graph: Graph, index: int) -> None:
        self.backend = backend
        self.graph = graph
        self.index = index

    def __repr__(self) -> str:
        return f"Partition({self.backend!r}, {len(self.graph.nodes)} nodes, index={self.index})"


class DeviceCopy(Record):
    """``value`` moves from ``source``'s memory to ``target``'s before partition
    ``partition`` reads it (-1: a model output going back to the host)."""

    __slots__ = FIELDS = ("value", "source", "target", "partition")

    def __init__(self, value: str, source: str, target: str, partition: int = -1) -> None:
        self.value = value
        self.source = source
        self.target = target
        self.partition = partition


class Schedule:
    """Every node's placement, the partitions they form and the device copies between them."""

    def __init__(self, placements: list[NodePlacement], partitions: list[Partition], copies: list[DeviceCopy]) -> None:
        self.placements = placements
        self.partitions = partitions
        self.copies = copies

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
    declined = declined or {}
    for index, node in enumerate(graph.nodes):
        refused: dict[str, str] = dict(declined[index]) if index in declined else {}
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
    """Topological walk preferring the current backend: maximal partitions (``reads``: each node's reads).

    Among the ready nodes, the lowest-numbered one of the current backend runs next; when the current backend
    has none, the lowest-numbered ready node opens a partition of its backend.  The ready nodes are kept in one
    heap per backend, so a wide graph (thousands ready at once) costs O(n log n), not a scan per node.
    On one backend, with the nodes in order (as :mod:`litert.ir.validate` leaves them), that walk is the file order."""
    producers = {out: i for i, node in enumerate(graph.nodes) for out in node.outputs if out}
    if graph.nodes and len(set(owner)) == 1 and in_order(producers, reads):
        return [(owner[0], list(range(len(graph.nodes))))]
    import heapq  # here: ~0.4 ms of a first load (a shared library) that the common case above does not need

    users: list[list[int]] = [[] for _ in graph.nodes]
    pending = [0] * len(graph.nodes)
    for i, names in enumerate(reads):
        deps = {producers[n] for n in names if n in producers}
        pending[i] = len(deps)
        for j in deps:
            users[j].append(i)
    ready: dict[str, list[int]] = {}  # backend -> heap of its ready nodes
    for i, n in enumerate(pending):
        if n == 0:
            heapq.heappush(ready.setdefault(owner[i], []), i)
    waiting = sum(map(len, ready.values()))
    groups: list[tuple[str, list[int]]] = []
    current: str | None = None
    while waiting:
        heap = ready.get(current) if current is not None else None
        if not heap:
            current = owner[min(h[0] for h in ready.values() if h)]
            groups.append((current, []))
            heap = ready[current]
        index = heapq.heappop(heap)
        waiting -= 1
        groups[-1][1].append(index)
        for user in users[index]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready.setdefault(owner[user], []), user)
                waiting += 1
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
        position: dict[int, int] | None = None  # built when a backend declines something
        again = False
        for name, backend in by_name.items():
            mine = [p for p in result.partitions if p.backend == name]
            if name == HOST or not mine:
                continue  # the host backend is the fallback: it keeps everything
            for which, reason in backend.decline_partitions([p.graph for p in mine]).items():
                if position is None:
                    position = {id(node): i for i, node in enumerate(graph.nodes)}
                for node in mine[which].graph.nodes:
                    declined.setdefault(position[id(node)], {})[name] = f"partition declined: {reason}"
                again = True
        if not again:
            return result


def _connect(graph: Graph, placements: list[NodePlacement]) -> Schedule:
    """Cut the placed graph into partitions and record the device copies between them."""
    owner = [p.backend for p in placements]
    reads = [node.reads() for node in graph.nodes]  # once: walks control-flow bodies
    groups = _group(graph, owner, reads)
    consumers: dict[str, set[int]] = {}
    if len(groups) > 1:  # one partition holds every reader: only graph outputs leave it
        for index, names in enumerate(reads):
            for name in names:
                consumers.setdefault(name, set()).add(index)
    where: dict[str, str] = {}  # value -> backend that produces it
    partitions: list[Partition] = []
    copies: list[DeviceCopy] = []
    graph_outputs = set(graph.outputs)
    values = graph.values
    for number, (backend, indices) in enumerate(groups):
        members = set(indices) if len(groups) > 1 else set()
        nodes = [graph.nodes[i] for i in indices]
        produced = {o for n in nodes for o in n.outputs if o}
        needed: dict[str, None] = {}  # ordered, and a set
        for i in indices:
            for name in reads[i]:
                if name in produced or name in needed:
                    continue
                value = values.get(name)
                if value is None or not value.is_const:
                    needed[name] = None
        outputs = [
            name for node in nodes for name in node.outputs
            if name and (name in graph_outputs or not consumers.get(name, members) <= members)
        ]
        sub = Graph(nodes=nodes, inputs=list(needed), outputs=outputs, name=f"{backend}_{number}")
        sub_values = sub.values
        for i, node in zip(indices, nodes):
            for names in (reads[i], node.outputs):
                for name in names:
                    value = values.get(name) if name else None
                    if value is not None:
                        sub_values[name] = value
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
