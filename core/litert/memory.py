"""Liveness-based memory planning: activations packed into one arena.

Each activation (a node output that is not a constant and not a graph
output... graph outputs too, they live until the end) gets an offset in an
arena such that no two tensors alive at the same step overlap.  The
placement is greedy by size, largest first, into the lowest gap that fits
(the strategy of TFLite's arena planner), which is near the lower bound of
the largest set of simultaneously live tensors for inference graphs.
"""
from __future__ import annotations

from .ir import Graph

ALIGNMENT = 64


class Interval:
    """One activation's bytes and the steps it lives over; ``offset`` is set by the placement (-1: not yet)."""

    __slots__ = ("name", "size", "first", "last", "offset")

    def __init__(self, name: str, size: int, first: int, last: int, offset: int = -1) -> None:
        self.name = name
        self.size = size
        self.first = first
        self.last = last
        self.offset = offset

    def __repr__(self) -> str:
        return f"Interval({self.name!r}, size={self.size}, steps {self.first}-{self.last}, offset={self.offset})"


class MemoryPlan:
    """The plan of one arena (one per backend partition, summed per model).

    (A plain class, not a dataclass: :mod:`litert.record` says why.)
    """

    def __init__(self, peak_bytes: int = 0, naive_bytes: int = 0, offsets: dict[str, tuple[int, int]] | None = None,
                 unknown: list[str] | None = None) -> None:
        self.peak_bytes = peak_bytes
        self.naive_bytes = naive_bytes
        self.offsets: dict[str, tuple[int, int]] = {} if offsets is None else offsets
        #: activations whose size is not known until inputs are given
        self.unknown: list[str] = [] if unknown is None else unknown

    def __repr__(self) -> str:
        return (f"MemoryPlan(peak_bytes={self.peak_bytes}, naive_bytes={self.naive_bytes}, "
                f"{len(self.offsets)} offsets, unknown={self.unknown!r})")

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def saving(self) -> float:
        return 1.0 - self.peak_bytes / self.naive_bytes if self.naive_bytes else 0.0

    def __add__(self, other: MemoryPlan) -> MemoryPlan:
        return MemoryPlan(
            self.peak_bytes + other.peak_bytes,
            self.naive_bytes + other.naive_bytes,
            {**self.offsets, **other.offsets},
            self.unknown + other.unknown,
        )

    def summary(self) -> str:
        text = (
            f"planned arena {self.peak_bytes / 2**20:.2f} MiB vs {self.naive_bytes / 2**20:.2f} MiB "
            f"without reuse ({self.saving:.0%} saved)"
        )
        if self.unknown:
            text += f"; {len(self.unknown)} tensors of unknown size (planned on first run)"
        return text


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def lifetimes(graph: Graph) -> tuple[list[Interval], list[str]]:
    """Live interval of every activation, in node-index units."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    end = len(graph.nodes)
    for name in graph.inputs:
        first[name] = last[name] = 0
    for index, node in enumerate(graph.nodes):
        for name in node.reads():
            if name in first:
                last[name] = index
        for name in node.outputs:
            if name:
                first[name] = last[name] = index
    for name in graph.outputs:
        if name in last:
            last[name] = end
    intervals, unknown = [], []
    for name, start in first.items():
        value = graph.values.get(name)
        if value is not None and value.is_const:
            continue
        size = value.nbytes if value is not None else None
        if size is None:
            unknown.append(name)
            continue
        intervals.append(Interval(name, _align(size), start, last[name]))
    return intervals, unknown


def specialize(graph: Graph, bindings: dict[str, int]) -> Graph:
    """A copy of ``graph`` whose symbolic dims are replaced by ``bindings``
    (nodes shared, values copied), with shapes re-inferred where missing."""
    from .schema.inference import infer_shapes

    values = {}
    for name, value in graph.values.items():
        shape = value.shape
        if shape is not None and not value.is_const:
            shape = tuple(bindings.get(d, d) if isinstance(d, str) else d for d in shape)
            if any(isinstance(d, str) for d in shape) and name not in graph.inputs:
                shape = None  # an unbound symbol inside: let inference redo it
        values[name] = value.replace(shape=shape)
    copy = Graph(nodes=graph.nodes, inputs=graph.inputs, outputs=graph.outputs, values=values, name=graph.name)
    infer_shapes(copy)
    return copy


class _TimeIndex:
    """The placed intervals, indexed by time (node steps) in a segment tree.

    An interval is stored at the O(log T) tree nodes that exactly cover its
    steps; a node is flagged once anything is stored in its subtree.  The
    intervals overlapping a query are then found by walking only flagged
    nodes that intersect it: O((k + 1) log T) for k results, instead of a
    scan of everything placed so far.
    """

    def __init__(self, steps: int) -> None:
        self.size = 1 << max(steps - 1, 1).bit_length()
        self.here: list[list[int] | None] = [None] * (2 * self.size)
        self.used = bytearray(2 * self.size)
        #: the highest tree level (0: leaves) holding an interval
        self.top = 0

    def add(self, key: int, first: int, last: int) -> None:
        lo, hi = first + self.size, last + self.size + 1
        while lo < hi:
            if lo & 1:
                self._store(lo, key)
                lo += 1
            if hi & 1:
                hi -= 1
                self._store(hi, key)
            lo >>= 1
            hi >>= 1

    def _store(self, node: int, key: int) -> None:
        bucket = self.here[node]
        if bucket is None:
            self.here[node] = bucket = []
            self.top = max(self.top, self.size.bit_length() - node.bit_length())
        bucket.append(key)
        while node and not self.used[node]:  # flag the ancestors (each node once over all inserts)
            self.used[node] = 1
            node >>= 1

    def overlapping(self, first: int, last: int) -> set[int]:
        found: set[int] = set()
        if last - first < 8:  # short-lived (most activations): up from its steps' leaves, as high as anything is stored
            here, seen, levels = self.here, set(), self.top + 1
            for node in range(first + self.size, last + self.size + 1):
                for _ in range(levels):
                    if node in seen:
                        break
                    seen.add(node)
                    bucket = here[node]
                    if bucket:
                        found.update(bucket)
                    node >>= 1
            return found
        stack = [(1, 0, self.size - 1)]
        while stack:
            node, lo, hi = stack.pop()
            if not self.used[node] or hi < first or last < lo:
                continue
            bucket = self.here[node]
            if bucket:
                found.update(bucket)
            if lo != hi:
                mid = (lo + hi) >> 1
                stack.append((2 * node, lo, mid))
                stack.append((2 * node + 1, mid + 1, hi))
        return found


#: an interval this many steps long or longer is "spanning" (:func:`pack`); at most this many are kept aside
_SPANNING_STEPS = 256
_SPANNING_KEPT = 8


def pack(intervals: list[Interval]) -> int:
    """Give every interval an offset so that no two alive at the same step
    overlap (largest first, lowest gap that fits); returns the arena size.
    Sizes must already be aligned (``align``).

    The intervals alive alongside the one being placed come from a time
    index (:class:`_TimeIndex`), so the cost grows as O((n + k) log n) for
    n intervals and k overlapping pairs, not n^2."""
    if not intervals:
        return 0
    order = sorted(intervals, key=lambda i: (-i.size, i.first))
    index = _TimeIndex(max(max(i.last for i in order), max(i.first for i in order)) + 1)
    # the first few long-lived intervals (a graph input every node reads, a skip connection) are kept out of
    # the tree and checked one by one: stored in it, they fill its upper levels, and every short query would
    # then walk all of them (a 100k-node chain reading its input throughout: 0.5 s -> 0.1 s)
    spanning: list[Interval] = []
    arena = 0
    for key, item in enumerate(order):
        found = [order[k] for k in index.overlapping(item.first, item.last)]
        if spanning:
            found += [p for p in spanning if p.first <= item.last and item.first <= p.last]
        overlapping = sorted(found, key=lambda p: p.offset)
        offset = 0
        for other in overlapping:
            if offset + item.size <= other.offset:
                break
            offset = max(offset, other.offset + other.size)
        item.offset = offset
        arena = max(arena, offset + item.size)
        if item.last - item.first >= _SPANNING_STEPS and len(spanning) < _SPANNING_KEPT:
            spanning.append(item)
        else:
            index.add(key, item.first, item.last)
    return arena


def align(n: int) -> int:
    """``n`` rounded up to the arena alignment."""
    return _align(n)


def plan(graph: Graph) -> MemoryPlan:
    """Pack the activations of ``graph`` into one arena."""
    intervals, unknown = lifetimes(graph)
    peak = pack(intervals)
    return MemoryPlan(
        peak_bytes=peak,
        naive_bytes=sum(i.size for i in intervals),
        offsets={i.name: (i.offset, i.size) for i in intervals},
        unknown=unknown,
    )
