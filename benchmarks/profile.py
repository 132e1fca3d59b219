"""Where litert's CPU time goes, per operator type and per node.

Uses the models and inputs of ``compare.py`` (its cache) and the executor's
NodeHooks: each node is timed on every run and its minimum over the runs is
kept (the figure least disturbed by a shared machine).

    python benchmarks/profile.py squeezenet bert --runs 5 --top 8

Not a test.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from compare import ROOT, build_models


class _Timer:
    """NodeHooks that record per-node wall time of one run."""

    def __init__(self, labels: dict[str, str]):
        self.times: dict[str, float] = {}
        self.labels = labels
        self._t0 = 0.0

    def before_node(self, node, backend):
        self._t0 = time.perf_counter()

    def after_node(self, node, backend, outputs):
        self.times[node.name] = time.perf_counter() - self._t0


def labels(graph) -> dict[str, str]:
    """Node name -> op name, with the kind of convolution for (Fused)Conv:
    ``dw`` depthwise, ``g`` grouped, and the kernel size."""
    out = {}
    for node in graph.nodes:
        op = node.qualified_op.replace("com.microsoft::", "")
        if node.op_type in ("Conv", "FusedConv"):
            w = graph.values.get(node.inputs[1])
            group = node.attrs.get("group", 1)
            kernel = node.attrs.get("kernel_shape") or (w.shape[2:] if w is not None and w.shape else [])
            kind = ""
            if group > 1:
                kind = "dw" if w is not None and w.shape and w.shape[1] == 1 else "g"
            op += f"[{kind}{'x'.join(map(str, kernel))}]"
        out[node.name] = op
    return out


def profile(name: str, model: Path, inputs: Path, threads: int, runs: int, top: int) -> list[str]:
    import litert

    feeds = dict(np.load(inputs))
    t0 = time.perf_counter()
    session = litert.load(str(model), devices=["cpu"], threads=threads)
    load = time.perf_counter() - t0
    session.predict(feeds)
    plain = []
    for _ in range(runs):
        t = time.perf_counter()
        session.predict(feeds)
        plain.append(time.perf_counter() - t)
    best: dict[str, float] = {}
    timer = _Timer(labels(session.model.graph))
    for _ in range(runs):
        session.predict(feeds, hooks=timer)
        for node, t in timer.times.items():
            best[node] = min(best.get(node, np.inf), t)
    by_op: dict[str, list[float]] = defaultdict(list)
    for node, t in best.items():
        by_op[timer.labels[node]].append(t)
    total = sum(best.values())
    timings = ", ".join(f"{k} {v * 1000:.0f}" for k, v in session.timings.items())
    lines = [f"== {name}: run min {min(plain) * 1000:.1f} ms, sum of node mins {total * 1000:.1f} ms, "
             f"{len(best)} nodes; load {load:.2f} s ({timings} ms)"]
    for op, ts in sorted(by_op.items(), key=lambda kv: -sum(kv[1])):
        lines.append(f"  {op:<28} {len(ts):>4} nodes {sum(ts) * 1000:>9.2f} ms {100 * sum(ts) / total:5.1f}%")
    lines.append("  top nodes:")
    for node, t in sorted(best.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"    {node:<40} {timer.labels[node]:<24} {t * 1000:8.2f} ms")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--cache", default=str(ROOT / "benchmarks" / ".cache"))
    args = parser.parse_args()
    for name, (model, inputs) in build_models(Path(args.cache), args.models).items():
        print("\n".join(profile(name, model, inputs, args.threads, args.runs, args.top)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
