"""benchmarks/compare.py keeps working (a smoke run; no timing is asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compare_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare.py"), "--smoke", "--engines", "litert,onnxruntime",
         "--cache", str(tmp_path / "cache"), "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "geomean litert/onnxruntime" in result.stdout
    data = json.loads(out.read_text())
    litert_run, ort_run = data["results"]["squeezenet"]["litert"], data["results"]["squeezenet"]["onnxruntime"]
    assert len(litert_run["times_ms"]) == 2 and litert_run["peak_rss_mb"] > 0
    # same model, same inputs: the engines agree on the output
    assert abs(litert_run["output_checksum"] - ort_run["output_checksum"]) <= 1e-3 * ort_run["output_scale"] * 1000
