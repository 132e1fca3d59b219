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
    # the load column: the fastest of the timed round's process and a load-only one, for both engines
    assert "fastest of 2: litert" in result.stderr and litert_run["load_s"] > 0 and ort_run["load_s"] > 0
    # same model, same inputs: the engines agree on the output
    assert abs(litert_run["output_checksum"] - ort_run["output_checksum"]) <= 1e-3 * ort_run["output_scale"] * 1000


def test_op_breakdown_smoke(tmp_path):
    """benchmarks/op_breakdown.py: both engines' per-op-type rows for one model (structure, not speed)."""
    import numpy as np
    import onnx
    from helpers.modelgen import small_lstm

    model, inputs = tmp_path / "lstm.onnx", tmp_path / "lstm.npz"
    onnx.save(small_lstm(seed=0, steps=4, features=8, hidden=16), model)
    np.savez(inputs, frames=np.random.default_rng(0).standard_normal((4, 1, 8)).astype(np.float32))
    out = tmp_path / "ops.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "op_breakdown.py"), "--model", str(model), "--inputs", str(inputs),
         "--threads", "1", "--loops", "3", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    ops = {row["op_type"]: row for row in data["rows"]}
    assert {"LSTM", "MatMul"} <= set(ops)
    assert ops["LSTM"]["litert_ms"] > 0 and ops["LSTM"]["onnxruntime_ms"] > 0
    assert "LSTM" in result.stdout and result.stdout.splitlines()[-1].startswith("total")
