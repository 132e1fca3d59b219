"""The OpenBLAS litert registers for its GEMM starts no threads of its own.

OpenBLAS starts a server thread per extra core when it is loaded, and they spin for a while before sleeping:
on 2 cores that took a core from litert's pool for the first runs after every load (the detection head at 2
threads: 7-13 ms for ~10 runs, then 3.3).  litert calls it single-threaded anyway, so it is opened with
OPENBLAS_NUM_THREADS=1 for the dlopen and the variable is put back.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = '''
import json, os
import numpy  # its own OpenBLAS (and threads) first
before = len(os.listdir("/proc/self/task"))
os.environ["OPENBLAS_NUM_THREADS"] = "3"  # a user's setting, to be left as it was
from litert_cpu import native
module = native.module()
print(json.dumps({"before": before, "after": len(os.listdir("/proc/self/task")),
                  "env": os.environ.get("OPENBLAS_NUM_THREADS"), "status": native.status().detail,
                  "loaded": module is not None}))
'''


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="counts threads through Linux's /proc with at least 2 CPUs")
def test_loading_the_blas_starts_no_threads_and_keeps_the_environment():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if not report["loaded"] or "OpenBLAS" not in report["status"]:
        pytest.skip(f"no OpenBLAS registered here: {report['status']}")
    assert report["after"] == report["before"], report
    assert report["env"] == "3", report
