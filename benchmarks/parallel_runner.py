"""ModelParallelRunner scaling: requests/s and memory with 1 and 2 workers.

Each measurement runs in a fresh process (so memory figures are its own):
it builds a ``litert.mslite.ModelParallelRunner`` with ``workers_num``
workers of ``cpu.thread_num = 1`` on a CNN ``.ms`` (a MobileNetV2 the
converter writes from the project's generator), then ``2 x workers`` client
threads send ``--requests`` predict calls and the wall time is taken.
Memory: the process's RSS growth from just before ``build_from_file`` to
the end (weights, compiled program, arenas, outputs), and its peak RSS.
Rounds alternate 1 and 2 workers so that a noisy neighbour hits both; the
report gives every round, and the ratios of the medians and of the bests.
Each round also runs two separate 1-worker processes at once: their summed
requests/s over one process's is what the machine can give two workers at
that moment (on a shared machine, often well under 2x).

    python benchmarks/parallel_runner.py [--rounds 3] [--requests 120] [--json out.json]

Not a test on its own (tests/test_mslite_parallel.py runs it, marked slow).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(model_path: str, workers: int, requests: int) -> dict:
    """One process's figures (run through ``--child``)."""
    import resource

    import numpy as np

    import litert.mslite as mslite

    context = mslite.Context()
    context.cpu.thread_num = 1
    context.parallel.workers_num = workers
    before = rss_bytes()
    runner = mslite.ModelParallelRunner()
    runner.build_from_file(model_path, context)
    template = runner.get_inputs()[0]
    data = np.random.default_rng(0).standard_normal(template.shape).astype(np.float32)
    remaining = [requests]
    lock = threading.Lock()

    def client() -> None:
        inputs = runner.get_inputs()
        inputs[0].set_data_from_numpy(data)
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            runner.predict(inputs)

    for _ in range(2 * workers):  # warm-up: every worker has compiled state and an arena
        runner.predict([data])
    clients = [threading.Thread(target=client) for _ in range(2 * workers)]
    cpu_before = time.process_time()
    started = time.perf_counter()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_before
    return {"workers": workers, "requests": requests, "seconds": seconds, "requests_per_s": requests / seconds,
            "cores_busy": cpu_seconds / seconds, "cpu_ms_per_request": 1000 * cpu_seconds / requests,
            "rss_growth_mb": (rss_bytes() - before) / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def make_model(directory: Path, resolution: int) -> Path:
    """A MobileNetV2 (width 1.0, ~3.5 M weights) as .ms, written by litert's converter."""
    sys.path.insert(0, str(ROOT / "tests"))
    import onnx
    from helpers import modelgen

    import litert.mslite as mslite

    source = directory / "mobilenet_v2.onnx"
    onnx.save(modelgen.mobilenet_v2(resolution=resolution, classes=1000), source)
    converter = mslite.Converter()
    converter.save_type = mslite.ModelType.MINDIR_LITE
    converter.input_shape = {"input": [1, 3, resolution, resolution]}
    converter.convert(mslite.FmkType.ONNX, str(source), str(directory / "mobilenet_v2"))
    return directory / "mobilenet_v2.ms"


def run(rounds: int, requests: int, resolution: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(Path(tmp), resolution)
        results: dict[int, list[dict]] = {1: [], 2: []}
        machine: list[float] = []
        for _ in range(rounds):
            for workers in (1, 2):
                results[workers].append(_child(model, workers, requests)[0])
            # the machine's own ceiling: two separate 1-worker processes at once, against the last 1-worker run
            pair = _child(model, 1, requests, copies=2)
            machine.append(sum(r["requests_per_s"] for r in pair) / results[1][-1]["requests_per_s"])
    one, two = results[1], results[2]

    def median(rows, key):
        return statistics.median(r[key] for r in rows)

    return {
        "model": f"MobileNetV2 1.0 {resolution}x{resolution} (.ms by litert)", "rounds": rounds, "requests": requests,
        "cpu": _cpu_name(), "load_average": os.getloadavg(), "one_worker": one, "two_workers": two,
        "throughput_ratio_median": median(two, "requests_per_s") / median(one, "requests_per_s"),
        "throughput_ratio_best": max(r["requests_per_s"] for r in two) / max(r["requests_per_s"] for r in one),
        "rss_growth_ratio": median(two, "rss_growth_mb") / median(one, "rss_growth_mb"),
        "peak_rss_ratio": median(two, "peak_rss_mb") / median(one, "peak_rss_mb"),
        "two_processes_ratio": machine,
    }


def _child(model: Path, workers: int, requests: int, copies: int = 1) -> list[dict]:
    """Run ``copies`` measuring processes at the same time; their figures."""
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(model), str(workers), str(requests)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(copies)]
    rows = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"measuring process failed: {err[-1000:]}")
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--resolution", type=int, default=160)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    report = run(args.rounds, args.requests, args.resolution)
    for workers, key in ((1, "one_worker"), (2, "two_workers")):
        rates = ", ".join(f"{r['requests_per_s']:.1f}" for r in report[key])
        growth = ", ".join(f"{r['rss_growth_mb']:.1f}" for r in report[key])
        busy = ", ".join(f"{r['cores_busy']:.2f}" for r in report[key])
        print(f"{workers} worker(s) x 1 thread: requests/s {rates}; cores busy {busy}; RSS growth MiB {growth}")
    print(f"throughput 2 vs 1 workers: median {report['throughput_ratio_median']:.2f}x, best "
          f"{report['throughput_ratio_best']:.2f}x; RSS growth {report['rss_growth_ratio']:.2f}x, peak RSS "
          f"{report['peak_rss_ratio']:.2f}x ({report['cpu']}, load average {report['load_average'][0]:.2f})")
    print("the machine's ceiling, two separate 1-worker processes at once vs one: "
          + ", ".join(f"{r:.2f}x" for r in report["two_processes_ratio"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
