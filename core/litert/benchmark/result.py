"""What ``litert.benchmark`` and ``litert compare`` return: plain dataclasses.

Every result converts to a JSON-ready dict (``to_dict``) and to JSON text
(``to_json``), which is what ``--json`` writes for CI dashboards.  Times are
milliseconds, sizes bytes, bias figures percent.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_text


class _JsonMixin:
    def to_dict(self) -> dict[str, Any]:
        if not is_dataclass(self):
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        cleaned: dict[str, Any] = _clean(asdict(self))
        return cleaned

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """The result as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            write_text(path, text + "\n")
        return text


def _clean(obj: Any) -> Any:
    """JSON has no NaN/Infinity: those become null; numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ---------------------------------------------------------------- latency


@dataclass
class LatencyStats(_JsonMixin):
    """Latency over the timed loops (warm-up loops excluded)."""

    loops: int
    min_ms: float
    max_ms: float
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    #: inferences per second over the timed loops (loops / total time)
    throughput: float
    samples_ms: list[float] = field(default_factory=list)

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> LatencyStats:
        ms = np.asarray(seconds, dtype=np.float64) * 1000.0
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        total = float(ms.sum())
        return cls(
            loops=int(ms.size), min_ms=float(ms.min()), max_ms=float(ms.max()), mean_ms=float(ms.mean()),
            std_ms=float(ms.std()), p50_ms=float(p50), p90_ms=float(p90), p99_ms=float(p99),
            throughput=ms.size * 1000.0 / total if total > 0 else math.inf,
            samples_ms=[float(v) for v in ms],
        )


@dataclass
class MemoryStats(_JsonMixin):
    """Planned activation arena (the memory planner's figure) and the process's peak RSS."""

    planned_arena_bytes: int
    naive_activation_bytes: int
    weights_bytes: int
    #: ``resource.getrusage`` peak resident set size of this process (None where unsupported)
    peak_rss_bytes: int | None
    #: the same figure just before the model was loaded: the growth is what loading and running added
    rss_before_load_bytes: int | None = None

    @property
    def rss_growth_bytes(self) -> int | None:
        if self.peak_rss_bytes is None or self.rss_before_load_bytes is None:
            return None
        return self.peak_rss_bytes - self.rss_before_load_bytes


# ---------------------------------------------------------------- profile


@dataclass
class OpTiming(_JsonMixin):
    """Time spent in one node over the profiled loops.

    A node inside a control-flow body (If/Loop/Scan) has ``depth`` > 0 and
    names its ``parent``; the parent's ``total_ms`` includes the body's time,
    its ``self_ms`` does not.  Shares are of self time, so they add up to 1.
    """

    node: str
    op_type: str
    device: str
    calls: int
    total_ms: float
    mean_ms: float
    #: fraction of the summed kernel self time (MindSpore Lite's "percent" column)
    share: float
    self_ms: float = 0.0
    depth: int = 0
    parent: str = ""


@dataclass
class OpTypeTiming(_JsonMixin):
    """Self time of all nodes of one op type (a Loop's body counts for the body's op types)."""

    op_type: str
    nodes: int
    calls: int
    total_ms: float
    mean_ms: float
    share: float


@dataclass
class Profile(_JsonMixin):
    """Per-node and per-op-type time, each list sorted by total time, largest first."""

    loops: int
    nodes: list[OpTiming]
    op_types: list[OpTypeTiming]
    #: summed time inside nodes over all profiled loops (nested nodes counted once)
    kernel_ms: float
    #: wall time of the profiled loops (kernel time + scheduling and copies)
    run_ms: float

    @property
    def nested(self) -> bool:
        """Whether any node ran inside a control-flow body."""
        return any(t.depth for t in self.nodes)


# ---------------------------------------------------------------- accuracy


@dataclass
class TensorAccuracy(_JsonMixin):
    """One tensor of the model checked against its reference."""

    name: str
    shape: list[int]
    #: MindSpore Lite's mean relative bias over the elements out of tolerance, percent
    mean_bias_percent: float
    max_abs_error: float
    cosine_similarity: float
    passed: bool
    is_output: bool = True
    note: str = ""


@dataclass
class AccuracyReport(_JsonMixin):
    reference: str
    threshold_percent: float
    cosine_threshold: float | None
    tensors: list[TensorAccuracy]
    #: average of the per-tensor mean bias (MindSpore Lite's "Mean bias of all nodes/tensors")
    mean_bias_percent: float

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tensors)

    @property
    def failures(self) -> list[TensorAccuracy]:
        return [t for t in self.tensors if not t.passed]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "passed": self.passed}


# ---------------------------------------------------------------- benchmark


@dataclass
class InputSpec(_JsonMixin):
    name: str
    dtype: str
    shape: list[int]
    #: "random (seed 0)" or the file it came from
    source: str


@dataclass
class BenchmarkResult(_JsonMixin):
    """Everything ``litert benchmark`` prints."""

    model: str
    format: str
    devices: list[str]
    threads: int
    optimize: str
    warmup_loops: int
    inputs: list[InputSpec]
    #: wall time of ``litert.load`` (read, optimise, schedule, compile, plan)
    load_ms: float
    load_phases_ms: dict[str, float]
    latency: LatencyStats
    memory: MemoryStats
    placement: list[str] = field(default_factory=list)
    profile: Profile | None = None
    accuracy: AccuracyReport | None = None
    #: the arithmetic the session computed in (``Session.precision``)
    precision: str = "fp32"

    @property
    def passed(self) -> bool:
        """False only when an accuracy check ran and failed."""
        return self.accuracy is None or self.accuracy.passed

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["memory"]["rss_growth_bytes"] = self.memory.rss_growth_bytes
        if self.accuracy is not None:
            data["accuracy"] = self.accuracy.to_dict()
        data["passed"] = self.passed
        return data


# ---------------------------------------------------------------- compare


@dataclass
class TensorDiff(_JsonMixin):
    """One tensor present in both the model and the reference."""

    name: str
    node: str
    op_type: str
    shape: list[int]
    reference_shape: list[int]
    max_abs_error: float
    #: max |model - reference| / max |reference|
    relative_error: float
    mean_bias_percent: float
    cosine_similarity: float
    diverged: bool
    is_output: bool = False
    note: str = ""
    #: no node reads it and it is not a graph output (e.g. a Dropout mask): shown, never counted
    unused: bool = False


@dataclass
class Comparison(_JsonMixin):
    """Per-tensor agreement of a model with a reference, in the model's execution order."""

    model: str
    reference: str
    reference_engine: str
    optimize: str
    rtol: float
    atol: float
    tensors: list[TensorDiff]
    #: tensors the model computes that the reference does not have (fused, renamed or new)
    unmatched: list[str] = field(default_factory=list)
    #: for the first diverging node: its inputs that were compared and agreed
    agreeing_inputs: list[str] = field(default_factory=list)

    @property
    def diverged(self) -> list[TensorDiff]:
        """Diverging tensors that matter: read by a node or a graph output."""
        return [t for t in self.tensors if t.diverged and not t.unused]

    @property
    def ignored(self) -> list[TensorDiff]:
        """Diverging tensors nothing reads: reported, not counted."""
        return [t for t in self.tensors if t.diverged and t.unused]

    @property
    def first_divergence(self) -> TensorDiff | None:
        return next(iter(self.diverged), None)

    @property
    def passed(self) -> bool:
        return not self.diverged

    def to_dict(self) -> dict[str, Any]:
        first = self.first_divergence
        return {**super().to_dict(), "passed": self.passed,
                "first_diverging_node": first.node if first else None,
                "first_diverging_tensor": first.name if first else None}
