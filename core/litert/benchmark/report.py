"""Text renderings of benchmark and comparison results (what the CLI prints)."""
from __future__ import annotations

from collections.abc import Sequence

from .result import AccuracyReport, BenchmarkResult, Comparison, Profile

MIB = 2**20


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> list[str]:
    """Plain columns sized to fit; the column indices in ``right`` are right-aligned (numbers)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
    return lines


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / MIB:.2f} MiB"


def summary_lines(result: BenchmarkResult) -> list[str]:
    lat, mem = result.latency, result.memory
    lines = [
        f"Model = {result.model} ({result.format}), Device = {','.join(result.devices)}, "
        f"NumThreads = {result.threads}, LoopCount = {lat.loops}, WarmUpLoopCount = {result.warmup_loops}, "
        f"Optimize = {result.optimize}"
    ]
    for spec in result.inputs:
        lines.append(f"input       {spec.name}: {spec.dtype} {spec.shape} from {spec.source}")
    lines.append(f"precision   {result.precision}")
    phases = ", ".join(f"{k} {v:.1f}" for k, v in result.load_phases_ms.items())
    lines.append(f"load        {result.load_ms:.1f} ms ({phases})")
    lines.append(f"latency     min {lat.min_ms:.3f}  max {lat.max_ms:.3f}  mean {lat.mean_ms:.3f}  "
                 f"std {lat.std_ms:.3f}  p50 {lat.p50_ms:.3f}  p90 {lat.p90_ms:.3f}  p99 {lat.p99_ms:.3f} ms "
                 f"over {lat.loops} loops")
    lines.append(f"throughput  {lat.throughput:.2f} inferences/s")
    rss = _mib(mem.peak_rss_bytes)
    if mem.rss_growth_bytes is not None:
        rss += f" (+{_mib(mem.rss_growth_bytes)} during load and run)"
    lines.append(f"memory      planned arena {_mib(mem.planned_arena_bytes)} ({_mib(mem.naive_activation_bytes)} "
                 f"without reuse), weights {_mib(mem.weights_bytes)}, process peak RSS {rss}")
    for line in result.placement:
        lines.append(f"placement   {line}")
    # MindSpore Lite's performance line, for scripts that parse its output
    lines.append(f"Model = {result.model}, NumThreads = {result.threads}, MinRunTime = {lat.min_ms:f} ms, "
                 f"MaxRuntime = {lat.max_ms:f} ms, AvgRunTime = {lat.mean_ms:f} ms")
    return lines


def profile_lines(profile: Profile, top: int = 25) -> list[str]:
    """The per-node table (``top`` rows, 0 = all) and the per-op-type table."""
    share = profile.kernel_ms / profile.run_ms if profile.run_ms else 0.0
    lines = [f"Per-operator time over {profile.loops} loops: kernels {profile.kernel_ms:.3f} ms of "
             f"{profile.run_ms:.3f} ms run time ({share:.1%})"]
    shown = profile.nodes if top <= 0 else profile.nodes[:top]
    if profile.nested:  # control-flow bodies: show self time and where each node ran
        lines += table(["node", "op type", "device", "calls", "total ms", "mean ms", "self ms", "share", "inside"],
                       [(t.node, t.op_type, t.device, t.calls, f"{t.total_ms:.3f}", f"{t.mean_ms:.4f}",
                         f"{t.self_ms:.3f}", f"{t.share:.1%}", t.parent) for t in shown], right=(3, 4, 5, 6, 7))
    else:
        lines += table(["node", "op type", "device", "calls", "total ms", "mean ms", "share"],
                       [(t.node, t.op_type, t.device, t.calls, f"{t.total_ms:.3f}", f"{t.mean_ms:.4f}",
                         f"{t.share:.1%}") for t in shown], right=(3, 4, 5, 6))
    if len(shown) < len(profile.nodes):
        lines.append(f"... {len(profile.nodes) - len(shown)} more nodes (--top 0 lists all)")
    lines.append("")
    lines.append("Per-op-type time" + (" (self time: a control-flow node's body counts for the body's op types)"
                                        if profile.nested else ""))
    lines += table(["op type", "nodes", "calls", "total ms", "mean ms", "share"],
                   [(t.op_type, t.nodes, t.calls, f"{t.total_ms:.3f}", f"{t.mean_ms:.4f}", f"{t.share:.1%}")
                    for t in profile.op_types], right=(1, 2, 3, 4, 5))
    return lines


def accuracy_lines(report: AccuracyReport) -> list[str]:
    rule = f"mean bias over {report.threshold_percent:g}%"
    if report.cosine_threshold is not None:
        rule += f" or cosine under {report.cosine_threshold:g}"
    lines = [f"Accuracy against {report.reference} (a tensor fails with {rule})"]
    lines += table(["tensor", "kind", "shape", "mean bias %", "max abs err", "cosine", "result"],
                   [(t.name, "output" if t.is_output else "intermediate", t.shape, f"{t.mean_bias_percent:.6g}",
                     f"{t.max_abs_error:.4g}", f"{t.cosine_similarity:.6f}",
                     ("ok" if t.passed else "FAIL") + (f" ({t.note})" if t.note else ""))
                    for t in report.tensors], right=(3, 4, 5))
    # MindSpore Lite's benchmark lines, for scripts that grep them
    lines += [f"Mean bias of node/tensor {t.name} : {t.mean_bias_percent:.6g}%" for t in report.tensors]
    lines.append(f"Mean bias of all nodes/tensors: {report.mean_bias_percent:.6g}%")
    if report.failures:
        lines.append(f"Mean bias of all nodes/tensors is too big: {report.mean_bias_percent:.6g}%")
    return lines


def accuracy_failure(report: AccuracyReport) -> str:
    """One line naming every failing tensor and why."""
    parts = [f"{t.name!r} ({t.note})" for t in report.failures]
    return f"accuracy check failed for {len(parts)} tensor(s): " + ", ".join(parts)


def comparison_lines(comparison: Comparison, limit: int = 30) -> list[str]:
    """Headline, the first diverging node, and a table (diverging tensors and outputs first when long)."""
    c = comparison
    lines = [f"Compared {len(c.tensors)} tensors of {c.model} (optimize {c.optimize}) with {c.reference} "
             f"({c.reference_engine}): {len(c.diverged)} diverge (a tensor diverges when max |diff| > "
             f"{c.atol:g} + {c.rtol:g} * max |reference|)"]
    if c.unmatched:
        lines.append(f"{len(c.unmatched)} tensors of the model have no reference counterpart "
                     f"(e.g. {', '.join(c.unmatched[:3])})")
    if c.ignored:
        lines.append(f"not counted: {len(c.ignored)} diverging tensor(s) that no node reads "
                     f"({', '.join(t.name for t in c.ignored[:5])})")
    first = c.first_divergence
    if first is None:
        lines.append("no tensor diverges")
    else:
        lines.append(f"first diverging node: {first.node} ({first.op_type}), tensor {first.name}: max abs err "
                     f"{first.max_abs_error:.4g}, relative {first.relative_error:.4g}, cosine "
                     f"{first.cosine_similarity:.6f}{'; ' + first.note if first.note else ''}")
        if c.agreeing_inputs:
            lines.append(f"  its inputs agree with the reference: {', '.join(c.agreeing_inputs)}")
    rows = c.tensors
    if limit > 0 and len(rows) > limit:
        keep = {id(t) for t in rows if t.diverged or t.is_output}  # unused diverging ones too
        rows = [t for t in rows if id(t) in keep][:limit]
    lines += table(["node", "op type", "tensor", "shape", "max abs err", "relative", "mean bias %", "cosine", ""],
                   [(t.node, t.op_type, t.name, t.shape, f"{t.max_abs_error:.4g}", f"{t.relative_error:.4g}",
                     f"{t.mean_bias_percent:.4g}", f"{t.cosine_similarity:.6f}",
                     " ".join(filter(None, ["DIVERGES" if t.diverged else "", "(output)" if t.is_output else "",
                                            "(unused)" if t.unused else "", t.note])))
                    for t in rows], right=(4, 5, 6, 7))
    if len(rows) < len(c.tensors):
        lines.append(f"... {len(c.tensors) - len(rows)} more tensors (--all lists every one)")
    return lines
