"""A default load is cheap: no subprocess (backend probes), a one-node model in under 20 ms,
and the memory planner scales (a 100k-node chain loads in under 5 s)."""
from __future__ import annotations

import json
import subprocess
import sys

from helpers.hostile import F, onnx_model, save
from onnx import helper

_NO_SUBPROCESS = '''
import os, subprocess, sys, time, json
spawned = []
def refuse(*args, **kwargs):
    spawned.append(repr(args[:1])[:200])
    raise OSError("litert must not start a process while loading")
subprocess.Popen.__init__ = lambda self, *a, **k: refuse(*a, **k)
os.posix_spawn = os.posix_spawnp = os.fork = os.system = refuse
import litert
times = []
for _ in range(7):
    started = time.perf_counter()
    litert.load(sys.argv[1])
    times.append(time.perf_counter() - started)
print(json.dumps({"spawned": spawned, "first": times[0], "best": min(times[1:])}))
'''


def test_default_load_starts_no_process_and_is_fast(tmp_path):
    path = save(onnx_model([helper.make_node("Relu", ["x"], ["y"], name="relu")], {"x": (F, [1, 4])},
                           {"y": (F, [1, 4])}), tmp_path / "one.onnx")
    result = subprocess.run([sys.executable, "-c", _NO_SUBPROCESS, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["spawned"] == [], report
    assert report["best"] < 0.020, f"a one-node load takes {report['best'] * 1000:.1f} ms"


def _pack_seconds(n: int) -> float:
    import time

    from litert.memory import Interval, pack

    best = float("inf")
    for _ in range(3):
        chain = [Interval(f"v{k}", 64 * (1 + k % 3), k, k + 1 + (k % 7 == 0) * 5) for k in range(n)]
        started = time.perf_counter()
        pack(chain)
        best = min(best, time.perf_counter() - started)
    return best


def test_memory_planner_scales_n_log_n():
    """Ten times the nodes must cost far less than the hundred times an all-pairs overlap scan would."""
    small, large = _pack_seconds(4000), _pack_seconds(40000)
    assert large / small < 30, f"pack: {small * 1000:.0f} ms for 4k intervals, {large * 1000:.0f} ms for 40k"


def test_pack_keeps_its_placement():
    """The indexed search finds exactly the overlaps the all-pairs scan found: same offsets, same arena."""
    import copy
    import random

    from litert.memory import Interval, pack

    def all_pairs(intervals):
        placed = []
        for item in sorted(intervals, key=lambda i: (-i.size, i.first)):
            offset = 0
            for other in sorted((p for p in placed if p.first <= item.last and item.first <= p.last),
                                key=lambda p: p.offset):
                if offset + item.size <= other.offset:
                    break
                offset = max(offset, other.offset + other.size)
            item.offset = offset
            placed.append(item)
        return max((i.offset + i.size for i in placed), default=0)

    rng = random.Random(0)
    for _ in range(200):
        steps = rng.randint(1, 300)
        intervals = []
        for k in range(rng.randint(1, 120)):
            first = rng.randint(0, steps)
            last = rng.randint(first, min(steps, first + rng.choice([0, 1, 2, 5, 9, 50, 1000])))
            intervals.append(Interval(f"v{k}", 64 * rng.randint(1, 20), first, last))
        ours = copy.deepcopy(intervals)
        assert pack(ours) == all_pairs(intervals)
        assert [i.offset for i in ours] == [i.offset for i in intervals]
