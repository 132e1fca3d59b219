"""Per-operator time profile, built on the ``NodeHooks`` protocol.

The profiler is passed as ``hooks`` to ``Session.predict`` during the timed
loops (as MindSpore Lite's ``--timeProfiling`` does), so the latency figures
of a profiled run include the hook overhead: a few microseconds per node.
Nested nodes (the bodies of If/Loop/Scan) are timed as part of their parent.
"""
from __future__ import annotations

import time
from collections import defaultdict

from ..ir import Node
from .capture import node_label
from .result import OpTiming, OpTypeTiming, Profile


class OpProfiler:
    """Accumulates the time between ``before_node`` and ``after_node`` per node."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}
        #: id(node) -> [label, op type, device, calls, seconds]
        self._stats: dict[int, list] = {}

    def before_node(self, node: Node, backend: str) -> None:
        self._started[id(node)] = time.perf_counter()

    def after_node(self, node: Node, backend: str, outputs: list) -> None:
        elapsed = time.perf_counter() - self._started.pop(id(node))
        stats = self._stats.get(id(node))
        if stats is None:
            stats = self._stats[id(node)] = [node_label(node), node.qualified_op, backend, 0, 0.0]
        stats[3] += 1
        stats[4] += elapsed

    def result(self, loops: int, run_seconds: float) -> Profile:
        """The profile of ``loops`` runs that took ``run_seconds`` of wall time in all."""
        kernel = sum(s[4] for s in self._stats.values())
        share = (lambda seconds: seconds / kernel) if kernel > 0 else (lambda seconds: 0.0)
        nodes = [
            OpTiming(label, op, device, calls, seconds * 1000, seconds * 1000 / calls, share(seconds))
            for label, op, device, calls, seconds in self._stats.values()
        ]
        nodes.sort(key=lambda t: -t.total_ms)
        by_type: dict[str, list] = defaultdict(lambda: [0, 0, 0.0])
        for label, op, device, calls, seconds in self._stats.values():
            entry = by_type[op]
            entry[0] += 1
            entry[1] += calls
            entry[2] += seconds
        types = [OpTypeTiming(op, n, calls, seconds * 1000, seconds * 1000 / calls, share(seconds))
                 for op, (n, calls, seconds) in by_type.items()]
        types.sort(key=lambda t: -t.total_ms)
        return Profile(loops, nodes, types, kernel * 1000, run_seconds * 1000)
