"""Per-op-type time of one model: litert's profile against onnxruntime's.

Each engine profiles in its own subprocess, on the same model and inputs
(the ``.onnx`` + ``.npz`` pairs that ``benchmarks/compare.py`` writes to its
cache): litert through ``litert.benchmark(..., time_profiling=True)`` (node
hooks, so native segments run node by node, activations unfused), onnxruntime
through its own profiler (``SessionOptions.enable_profiling``, the JSON
trace's ``*_kernel_time`` events).  onnxruntime names a conv fused with its
activation ``Conv``; litert's ``com.microsoft::FusedConv``/``FusedGemm`` are
counted as ``Conv``/``Gemm`` so the rows line up.  Rows are sorted by how much
more time litert spends.  Profiled runs are slower than plain ones on both
sides: compare shares, not absolute times.

    python benchmarks/op_breakdown.py squeezenet --threads 2
    python benchmarks/op_breakdown.py --model m.onnx --inputs m.npz --json out.json

Not a test: it asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: litert's fused operators under the ONNX name onnxruntime's profile uses
ALIASES = {"com.microsoft::FusedConv": "Conv", "com.microsoft::FusedGemm": "Gemm"}

_LITERT = """
import json, sys
import numpy as np
import litert
model, inputs, threads, loops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
result = litert.benchmark(model, loop_count=loops, warmup_loop_count=2, time_profiling=True, threads=threads,
                          inputs=dict(np.load(inputs)))
print(json.dumps({"per_run": {r.op_type: r.total_ms / loops for r in result.profile.op_types},
                  "latency_ms": result.latency.min_ms}))
"""

_ORT = """
import json, sys, time
import numpy as np
import onnxruntime as ort
model, inputs, threads, loops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
feeds = dict(np.load(inputs))
options = ort.SessionOptions()
options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = threads, 1, 3
options.enable_profiling = True
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
for _ in range(2):
    session.run(None, feeds)
best = float("inf")
for _ in range(loops):
    start = time.perf_counter()
    session.run(None, feeds)
    best = min(best, (time.perf_counter() - start) * 1000)
path = session.end_profiling()
events = json.load(open(path))
totals = {}
for event in events:
    if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
        op = event["args"]["op_name"]
        totals[op] = totals.get(op, 0.0) + event["dur"] / 1000
import os
os.remove(path)
print(json.dumps({"per_run": {k: v / (loops + 2) for k, v in totals.items()}, "latency_ms": best}))
"""


def _profile(code: str, model: Path, inputs: Path, threads: int, loops: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-c", code, str(model), str(inputs), str(threads), str(loops)],
                            capture_output=True, text=True, env=env, cwd=str(model.parent), timeout=1800)
    if result.returncode != 0:
        raise SystemExit((result.stderr.strip().splitlines() or ["profiling failed"])[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def breakdown(model: Path, inputs: Path, threads: int, loops: int) -> dict:
    """Per-op-type ms per run of both engines, rows sorted by litert's excess."""
    lt = _profile(_LITERT, model, inputs, threads, loops)
    ort = _profile(_ORT, model, inputs, threads, loops)
    merged: dict[str, float] = collections.Counter()
    for op, ms in lt["per_run"].items():
        merged[ALIASES.get(op, op)] += ms
    rows = [{"op_type": op, "litert_ms": merged.get(op, 0.0), "onnxruntime_ms": ort["per_run"].get(op, 0.0)}
            for op in set(merged) | set(ort["per_run"])]
    rows.sort(key=lambda r: r["onnxruntime_ms"] - r["litert_ms"])
    return {"model": str(model), "threads": threads, "rows": rows,
            "latency_ms": {"litert": lt["latency_ms"], "onnxruntime": ort["latency_ms"]}}


def report(data: dict) -> list[str]:
    lines = [f"{Path(data['model']).stem}, {data['threads']} thread(s): ms per profiled run by op type",
             f"{'op type':<28} {'litert':>9} {'ort':>9} {'diff':>9}"]
    for row in data["rows"]:
        lines.append(f"{row['op_type']:<28} {row['litert_ms']:9.3f} {row['onnxruntime_ms']:9.3f} "
                     f"{row['litert_ms'] - row['onnxruntime_ms']:9.3f}")
    total_lt = sum(r["litert_ms"] for r in data["rows"])
    total_ort = sum(r["onnxruntime_ms"] for r in data["rows"])
    lines.append(f"{'total':<28} {total_lt:9.3f} {total_ort:9.3f} {total_lt - total_ort:9.3f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="a model of benchmarks/compare.py's cache (e.g. squeezenet)")
    parser.add_argument("--model", help="an .onnx file (with --inputs) instead of a cached model")
    parser.add_argument("--inputs", help="an .npz of the model's inputs by name")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--loops", type=int, default=10)
    parser.add_argument("--cache", default=str(ROOT / "benchmarks" / ".cache"))
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    if args.model:
        if not args.inputs:
            parser.error("--model needs --inputs")
        model, inputs = Path(args.model), Path(args.inputs)
    elif args.name:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from compare import build_models

        model, inputs = build_models(Path(args.cache), [args.name])[args.name]
    else:
        parser.error("give a model name or --model/--inputs")
    data = breakdown(model.resolve(), inputs.resolve(), args.threads, args.loops)
    print("\n".join(report(data)))
    if args.json:  # written whole or not at all
        target = Path(args.json)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(json.dumps(data, indent=1))
        os.replace(partial, target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
