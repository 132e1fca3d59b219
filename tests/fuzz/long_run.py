"""A long fuzzing run of one loader: ``harness.py`` in chunks until a number of executions, counted by libFuzzer.

Each chunk runs, at ``nice -n 19``::

    python tests/fuzz/harness.py <loader> -runs=<left> -max_total_time=<chunk> -timeout=60 -rss_limit_mb=3072 \\
        -artifact_prefix=<dir>/<loader>/ -print_final_stats=1 <dir>/<loader>/corpus

and adds its ``stat::number_of_executed_units`` to the total (or, when a chunk ends without the final stats, the
last ``#N`` progress line's N).  A chunk that ends on a finding (crash, timeout, out of memory, an untyped
exception) leaves its artifact in ``<dir>/<loader>/``; the next chunk starts with the remaining budget, from
the shared corpus folder.  Replay every artifact alone before calling it a finding (a unit starved of CPU is
slow, not hung): ``python tests/fuzz/harness.py <loader> <artifact>``.

While the file given to ``--pause-file`` exists (someone is benchmarking), the chunk's process group is
stopped (SIGSTOP) and continued when the file is gone; that time is recorded apart from the fuzzing time.
libFuzzer's ``-timeout`` counts wall time, so a unit stopped for longer than the timeout is reported as a
timeout when continued: replaying tells.

One JSON line per chunk (executions, wall and paused time, exec/s, coverage, artifacts) goes to
``<dir>/<loader>.jsonl``; a rerun with the same ``<dir>`` continues from the executions recorded there.

Usage::

    python tests/fuzz/long_run.py tflite --target 100000 --chunk 300 --dir /dev/shm/fz \\
        [--until 15:52] [--pause-file /path/QUIET]

See ``docs/security.md`` ("Long runs") for the recorded runs.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness import FORMATS  # this script's folder is on sys.path when it runs

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness.py"


def _clock() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S")


def _deadline(until: str | None) -> float | None:
    if until is None:
        return None
    hours, minutes = map(int, until.split(":"))
    return dt.datetime.now(dt.timezone.utc).replace(hour=hours, minute=minutes, second=0, microsecond=0).timestamp()


def chunk_stats(text: str) -> dict:
    """Executions, exec/s, coverage and peak memory of one chunk's libFuzzer output."""
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
    progress = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)", text, re.M)
    if "number_of_executed_units" in stats:
        execs, source = int(stats["number_of_executed_units"]), "stats"
    else:
        execs, source = (int(progress[-1][0]) if progress else 0), "last progress line"
    covs = [int(p[1]) for p in progress]
    return {"execs": execs, "source": source, "exec_per_sec": int(stats.get("average_exec_per_sec", 0)),
            "cov_first": covs[0] if covs else None, "cov_last": covs[-1] if covs else None,
            "new_units": int(stats.get("new_units_added", 0)), "peak_rss_mb": int(stats.get("peak_rss_mb", 0))}


class _Pauser(threading.Thread):
    """Stops a process group while ``path`` exists; sums the time stopped."""

    def __init__(self, pid: int, path: Path | None, label: str) -> None:
        super().__init__(daemon=True)
        self.pid, self.path, self.label = pid, path, label
        self.done = threading.Event()
        self.paused = 0.0
        self.spans: list[str] = []

    def run(self) -> None:
        while self.path is not None and not self.done.wait(5 if self.path.exists() else 20):
            if not self.path.exists():
                continue
            start, begun = time.time(), _clock()
            try:
                os.killpg(self.pid, signal.SIGSTOP)
            except ProcessLookupError:
                return
            print(f"{begun} {self.label}: {self.path} exists, stopped", flush=True)
            while self.path.exists():
                time.sleep(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGCONT)
            self.paused += time.time() - start
            self.spans.append(f"{begun}-{_clock()}")
            print(f"{_clock()} {self.label}: continued after {time.time() - start:.0f} s", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("loader", choices=FORMATS)
    parser.add_argument("--target", type=int, default=100_000, help="executions to reach (default 100000)")
    parser.add_argument("--chunk", type=int, default=300, help="seconds per chunk (default 300)")
    parser.add_argument("--dir", type=Path, default=Path("/dev/shm/fz"), help="corpus, artifacts and the record")
    parser.add_argument("--until", help="HH:MM (UTC): start no chunk after this, end the last one by then")
    parser.add_argument("--pause-file", type=Path, help="stop fuzzing while this file exists")
    args = parser.parse_args(argv)
    base = args.dir / args.loader
    (base / "corpus").mkdir(parents=True, exist_ok=True)
    (base / "logs").mkdir(exist_ok=True)
    record = args.dir / f"{args.loader}.jsonl"
    entries = [json.loads(line) for line in record.read_text().splitlines() if line.strip()] if record.exists() else []
    total = sum(entry["execs"] for entry in entries)
    deadline = _deadline(args.until)
    index = len(entries)
    while total < args.target:
        budget = args.chunk
        if deadline is not None:
            budget = min(budget, int(deadline - time.time()))
            if budget < 30:
                print(f"{_clock()} {args.loader}: deadline, stopped at {total:,} executions", flush=True)
                return 1
        index += 1
        log = base / "logs" / f"{index:02d}.log"
        command = ["nice", "-n", "19", sys.executable, str(HARNESS), args.loader, f"-runs={args.target - total}",
                   f"-max_total_time={budget}", "-timeout=60", "-rss_limit_mb=3072", f"-artifact_prefix={base}/",
                   "-print_final_stats=1", str(base / "corpus")]
        before = set(os.listdir(base))
        start = time.time()
        with open(log, "w") as out:
            out.write(" ".join(command) + "\n")
            out.flush()
            process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        pauser = _Pauser(process.pid, args.pause_file, args.loader)
        pauser.start()
        returncode = process.wait()
        pauser.done.set()
        pauser.join()
        wall = time.time() - start
        entry = {"chunk": index, "start": dt.datetime.fromtimestamp(start, dt.timezone.utc).strftime("%H:%M:%S"),
                 "end": _clock(), "rc": returncode, **chunk_stats(log.read_text(errors="replace")),
                 "wall": round(wall, 1), "paused": round(pauser.paused, 1), "pauses": pauser.spans,
                 "fuzz_time": round(wall - pauser.paused, 1),
                 "artifacts": sorted(set(os.listdir(base)) - before - {"corpus", "logs"}), "log": str(log)}
        with open(record, "a") as out:
            out.write(json.dumps(entry) + "\n")
        total += entry["execs"]
        print(f"{_clock()} {args.loader}: chunk {index} rc={returncode} {entry['execs']:,} executions "
              f"({entry['source']}), total {total:,}; {wall:.0f} s, paused {pauser.paused:.0f} s, "
              f"cov {entry['cov_last']}, artifacts {entry['artifacts']}", flush=True)
        if entry["execs"] == 0 and returncode != 0:
            print(f"{_clock()} {args.loader}: the chunk failed before fuzzing, see {log}", flush=True)
            return 2
    print(f"{_clock()} {args.loader}: {total:,} executions", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
