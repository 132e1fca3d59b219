"""``litert.benchmark``: load a model, check it against reference data, time it.

The order is chosen so that bad input fails before any time is spent:

1. load (timed: read, optimise, schedule, compile, plan);
2. inputs: files, given arrays, or seeded random tensors;
3. with reference data: its names are checked against the model, then one
   run captures the outputs and the named intermediate tensors and the
   shapes and values are compared;
4. warm-up loops, then the timed loops (with the per-node profiler as hooks
   when ``time_profiling``);
5. memory: the planned arena for the shapes run and the process's peak RSS.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from ..runtime.session import Session
    from .result import AccuracyReport, BenchmarkResult

# The modules this one uses (accuracy, capture, inputs, profile, result) are imported by the functions that
# use them: ``import litert`` imports this module for ``litert.benchmark``, and loading a model needs none of
# them (~5 ms of a fresh process's import on a 2-vCPU Zen 4: zipfile, tempfile, a dozen dataclasses).


def benchmark(
    model: str | Path | Any,
    *,
    devices: Sequence[str] | None = None,
    threads: int | None = None,
    loop_count: int = 10,
    warmup_loop_count: int = 3,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    inputs: Any = None,
    benchmark_data: str | Path | Mapping[str, np.ndarray] | None = None,
    accuracy_threshold: float = 0.5,
    cosine_threshold: float | None = None,
    time_profiling: bool = False,
    seed: int = 0,
    optimize: str = "general",
    fmk: str | None = None,
    progress: bool = False,
    precision: str = "fp32",
) -> BenchmarkResult:
    """Benchmark a model; the figures ``litert benchmark`` prints, as a :class:`BenchmarkResult`.

    :param model: a model file, or a session from :func:`litert.load` (then the
        load time is the session's own, and devices/threads/shapes are its own).
    :param inputs: None (seeded random data of each input's dtype and shape),
        arrays (a list in input order or a dict by name), or input file paths
        (``.npz``, ``.npy``, raw ``.bin``).
    :param benchmark_data: reference tensors by name (outputs or intermediate
        tensors), or a ``.npz``/``.npy``/MindSpore Lite calibration file.
    :param accuracy_threshold: the maximum mean bias per tensor, percent.
    :param cosine_threshold: also fail a tensor whose cosine similarity is lower.
    :param optimize: ``"general"`` or ``"none"``; with ``"none"`` every node of
        the source model keeps its output tensor, so any of them can be checked.
    :param progress: show a progress bar on stderr when it is a terminal.
    :param precision: as :func:`litert.load`'s; the result says what was used.
    """
    from .inputs import resolve_inputs
    from .profile import OpProfiler
    from .result import BenchmarkResult, LatencyStats, MemoryStats

    if loop_count < 1:
        raise InputError(f"loop count must be at least 1, got {loop_count}")
    if warmup_loop_count < 0:
        raise InputError(f"warm-up loop count must be at least 0, got {warmup_loop_count}")
    rss_before = peak_rss_bytes()
    session, model_path, load_seconds = _load(model, devices, threads, input_shapes, optimize, fmk, precision)
    feeds, specs = resolve_inputs(session, inputs, seed)

    accuracy = None
    if benchmark_data is not None:
        accuracy = _check(session, feeds, benchmark_data, accuracy_threshold, cosine_threshold, optimize)

    total = warmup_loop_count + loop_count
    bar = _progress_bar(total, model_path, progress)
    try:
        for _ in range(warmup_loop_count):
            session.predict(feeds)
            bar.update(1)
        profiler = OpProfiler() if time_profiling else None
        seconds = []
        for _ in range(loop_count):
            start = time.perf_counter()
            session.predict(feeds, profiler)
            seconds.append(time.perf_counter() - start)
            bar.update(1)
    finally:
        bar.close()

    graph = session.model.graph
    memory = MemoryStats(
        planned_arena_bytes=int(session.memory_plan.peak_bytes),
        naive_activation_bytes=int(session.memory_plan.naive_bytes),
        weights_bytes=int(graph.weight_bytes()),
        peak_rss_bytes=peak_rss_bytes(),
        rss_before_load_bytes=rss_before,
    )
    return BenchmarkResult(
        model=model_path,
        format=session.model.source_format,
        devices=[b.name for b in session.backends],
        threads=session.threads,
        optimize=optimize if isinstance(model, (str, Path)) else "as loaded",
        warmup_loops=warmup_loop_count,
        inputs=specs,
        load_ms=load_seconds * 1000,
        load_phases_ms={k: v * 1000 for k, v in session.timings.items()},
        latency=LatencyStats.from_seconds(seconds),
        memory=memory,
        placement=list(session.summary_lines()),
        profile=profiler.result(loop_count, sum(seconds)) if profiler else None,
        accuracy=accuracy,
        precision=session.precision,
    )


def _load(model: str | Path | Session, devices: Sequence[str] | None, threads: int | None,
          input_shapes: Mapping[str, Sequence[int]] | None, optimize: str, fmk: str | None,
          precision: str = "fp32") -> tuple[Session, str, float]:
    """A session, the model's name for the report, and the load time in seconds."""
    if not isinstance(model, (str, Path)):  # an already loaded session
        return model, model.model.graph.name or "<session>", sum(model.timings.values())
    from .. import load

    started = time.perf_counter()
    session = load(model, devices=devices, threads=threads, fmk=fmk,
                   input_shapes={k: tuple(v) for k, v in (input_shapes or {}).items()}, optimize=optimize,
                   precision=precision)
    return session, str(model), time.perf_counter() - started


def available_tensors(session: Session) -> tuple[list[str], set[str]]:
    """The model's outputs, and every tensor a node of the compiled graph produces."""
    produced = {o for part in session.schedule.partitions for node in part.graph.nodes for o in node.outputs if o}
    return list(session.model.graph.outputs), produced


def _check(session: Session, feeds: Mapping[str, np.ndarray], benchmark_data: str | Path | Mapping[str, np.ndarray],
           threshold: float, cosine_threshold: float | None, optimize: str) -> AccuracyReport:
    from .accuracy import check_accuracy, read_reference
    from .capture import TensorCapture, to_host

    outputs, produced = available_tensors(session)
    if isinstance(benchmark_data, (str, Path)):
        reference_name = str(benchmark_data)
        expected = read_reference(benchmark_data, outputs)
    else:
        reference_name = "<given tensors>"
        expected = {k: np.asarray(v) for k, v in benchmark_data.items()}
    if not expected:
        raise InputError(f"benchmark data {reference_name}: holds no tensors")
    unknown = [n for n in expected if n not in outputs and n not in produced]
    if unknown:
        hint = ("; tensors merged away by fusion or folding are kept with optimize='none' (--optimize none)"
                if optimize != "none" else "")
        shown = ", ".join(outputs[:8]) + (", ..." if len(outputs) > 8 else "")
        raise InputError(f"benchmark data {reference_name}: tensor {unknown[0]!r} is not an output or an "
                         f"intermediate tensor of the model (outputs: {shown}){hint}")
    intermediates = [n for n in expected if n not in outputs]
    capture = TensorCapture(intermediates) if intermediates else None
    actual = {**session.run(feeds, capture)}
    if capture is not None:
        actual.update(capture.tensors)
    actual = {k: np.asarray(to_host(v)) for k, v in actual.items()}
    return check_accuracy(actual, expected, reference=reference_name, threshold_percent=threshold,
                          cosine_threshold=cosine_threshold, outputs=set(outputs))


def peak_rss_bytes() -> int | None:
    """Peak resident set size of this process so far (``getrusage``), None where unsupported."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes, Linux: KiB


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, model: str, enabled: bool) -> Any:
    """tqdm on stderr when asked and stderr is a terminal; it appears only on runs longer than a second."""
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=Path(model).name, unit="run", file=sys.stderr, delay=1.0, leave=False)
