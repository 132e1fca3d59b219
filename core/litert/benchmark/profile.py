"""Per-operator time profile, built on the ``NodeHooks`` protocol.

The profiler is passed as ``hooks`` to ``Session.predict`` during the timed
loops (as MindSpore Lite's ``--timeProfiling`` does), so the latency figures
of a profiled run include the hook overhead: a few microseconds per node.

Nodes inside control-flow bodies (If/Loop/Scan) are reported too: the hooks
nest, so a stack separates each node's *total* time from its *self* time
(total minus the nodes it ran inside it).  Shares and the per-op-type table
use self time, so nothing is counted twice.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from ..ir import Node
from .capture import node_label
from .result import OpTiming, OpTypeTiming, Profile


class OpProfiler:
    """Accumulates, per node, the time between ``before_node`` and ``after_node``."""

    def __init__(self) -> None:
        #: open nodes: [start time, time of the nodes run inside it]
        self._stack: list[list[float]] = []
        self._labels: list[str] = []
        #: id(node) -> [label, op type, device, calls, total s, self s, depth, parent]
        self._stats: dict[int, list[Any]] = {}

    def before_node(self, node: Node, backend: str) -> None:
        self._stack.append([time.perf_counter(), 0.0])
        self._labels.append(node_label(node))

    def after_node(self, node: Node, backend: str, outputs: list[Any]) -> None:
        start, inner = self._stack.pop()
        label = self._labels.pop()
        elapsed = time.perf_counter() - start
        if self._stack:
            self._stack[-1][1] += elapsed
        stats = self._stats.get(id(node))
        if stats is None:
            parent = self._labels[-1] if self._labels else ""
            stats = self._stats[id(node)] = [label, node.qualified_op, backend, 0, 0.0, 0.0, len(self._stack), parent]
        stats[3] += 1
        stats[4] += elapsed
        stats[5] += elapsed - inner

    def result(self, loops: int, run_seconds: float) -> Profile:
        """The profile of ``loops`` runs that took ``run_seconds`` of wall time in all."""
        kernel = sum(s[5] for s in self._stats.values())
        share = (lambda seconds: seconds / kernel) if kernel > 0 else (lambda seconds: 0.0)
        nodes = [
            OpTiming(label, op, device, calls, total * 1000, total * 1000 / calls, share(own), own * 1000, depth,
                     parent)
            for label, op, device, calls, total, own, depth, parent in self._stats.values()
        ]
        nodes.sort(key=lambda t: -t.total_ms)
        by_type: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0.0])
        for _, op, _, calls, _, own, _, _ in self._stats.values():
            entry = by_type[op]
            entry[0] += 1
            entry[1] += calls
            entry[2] += own
        types = [OpTypeTiming(op, n, calls, own * 1000, own * 1000 / calls, share(own))
                 for op, (n, calls, own) in by_type.items()]
        types.sort(key=lambda t: -t.total_ms)
        return Profile(loops, nodes, types, kernel * 1000, run_seconds * 1000)
