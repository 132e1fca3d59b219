"""The loaders' fuzzers, for a short budget in every test run; the committed findings, every time.

The budget per loader (seconds) is ``LITERT_FUZZ_SECONDS`` (default 10);
long local runs: see docs/security.md.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "harness.py"
sys.path.insert(0, str(HARNESS.parent))
from harness import FORMATS  # noqa: E402

REGRESSIONS = HARNESS.parent / "regressions"
SECONDS = int(os.environ.get("LITERT_FUZZ_SECONDS", "10"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_loader_for_a_short_budget(tmp_path, fmt):
    command = [sys.executable, str(HARNESS), fmt, f"-max_total_time={SECONDS}", "-timeout=30",
               "-rss_limit_mb=3072", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 240, cwd=tmp_path)
    output = result.stdout + result.stderr
    runs = [line for line in output.splitlines() if "number_of_executed_units" in line]
    assert result.returncode == 0, f"fuzzer finding for .{fmt} (artifact in {tmp_path}):\n{output[-6000:]}"
    assert runs and int(runs[-1].split(":")[-1]) > 0, output[-3000:]


_REPLAY = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # a regression must fail, not take the machine down
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from harness import Target
case = Path(sys.argv[2])
target = Target(case.parent.name, Path(sys.argv[3]))
# growth over what importing litert and its plugins takes (that baseline differs between environments)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
target.check(case.read_bytes())
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - before
print("ok" if grown < 512 else f"peak memory grew {grown} MiB")
"""


@pytest.mark.parametrize("case", sorted(REGRESSIONS.glob("*/*")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fuzzer_findings_stay_fixed(tmp_path, case):
    """Each file under tests/fuzz/regressions/<format>/ is a mutant that once crashed, raised an untyped
    error or blew up memory; replayed in a child process under a 3 GiB address-space limit."""
    result = subprocess.run([sys.executable, "-c", _REPLAY, str(HARNESS.parent), str(case), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stdout[-500:] + result.stderr[-4000:]
