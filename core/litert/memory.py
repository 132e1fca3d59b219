"""Liveness-based memory planning: activations packed into one arena.

Each activation (a node output that is not a constant and not a graph
output... graph outputs too, they live until the end) gets an offset in an
arena such that no two tensors alive at the same step overlap.  The
placement is greedy by size, largest first, into the lowest gap that fits
(the strategy of TFLite's arena planner), which is near the lower bound of
the largest set of simultaneously live tensors for inference graphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Graph

ALIGNMENT = 64


@dataclass
class Interval:
    name: str
    size: int
    first: int
    last: int
    offset: int = -1


@dataclass
class MemoryPlan:
    """The plan of one arena (one per backend partition, summed per model)."""

    peak_bytes: int = 0
    naive_bytes: int = 0
    offsets: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: activations whose size is not known until inputs are given
    unknown: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def saving(self) -> float:
        return 1.0 - self.peak_bytes / self.naive_bytes if self.naive_bytes else 0.0

    def __add__(self, other: "MemoryPlan") -> "MemoryPlan":
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
    from dataclasses import replace

    from .schema.inference import infer_shapes

    values = {}
    for name, value in graph.values.items():
        shape = value.shape
        if shape is not None and not value.is_const:
            shape = tuple(bindings.get(d, d) if isinstance(d, str) else d for d in shape)
            if any(isinstance(d, str) for d in shape) and name not in graph.inputs:
                shape = None  # an unbound symbol inside: let inference redo it
        values[name] = replace(value, shape=shape)
    copy = Graph(nodes=graph.nodes, inputs=graph.inputs, outputs=graph.outputs, values=values, name=graph.name)
    infer_shapes(copy)
    return copy


def pack(intervals: list[Interval]) -> int:
    """Give every interval an offset so that no two alive at the same step
    overlap (largest first, lowest gap that fits); returns the arena size.
    Sizes must already be aligned (``align``)."""
    placed: list[Interval] = []
    for item in sorted(intervals, key=lambda i: (-i.size, i.first)):
        overlapping = sorted(
            (p for p in placed if p.first <= item.last and item.first <= p.last), key=lambda p: p.offset
        )
        offset = 0
        for other in overlapping:
            if offset + item.size <= other.offset:
                break
            offset = max(offset, other.offset + other.size)
        item.offset = offset
        placed.append(item)
    return max((i.offset + i.size for i in placed), default=0)


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
