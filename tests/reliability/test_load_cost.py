"""A default load is cheap: no subprocess (backend probes), a one-node model in under 20 ms,
and the memory planner scales (a 100k-node chain loads in under 5 s)."""
from __future__ import annotations

import json
import subprocess
import sys

from onnx import helper

from helpers.hostile import F, onnx_model, relu_chain, save

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
