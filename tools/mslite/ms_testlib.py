"""Shared by the .ms tests (plugins/formats/tests/test_ms_*.py): fixture paths, tolerances, the oracle switch."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "tests" / "data" / "ms"
for _p in (HERE, ROOT / "tests", ROOT / "core", ROOT / "plugins" / "formats"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

#: the issue's bar: rtol 1e-4 and atol 1e-5 of the output's scale (its largest magnitude)
RTOL = 1e-4
ATOL_OF_SCALE = 1e-5


def manifest() -> dict:
    return json.loads((DATA / "manifest.json").read_text())


def fixture_names(mindspore_lite_runs: bool = True) -> list[str]:
    """Fixtures with MindSpore Lite's outputs (default), or those MindSpore Lite fails to run (weight quantised)."""
    return [n for n, f in manifest()["fixtures"].items() if f.get("mindspore_lite_runs_it", True) == mindspore_lite_runs]


def fixture(name: str) -> tuple[Path, list[np.ndarray], list[np.ndarray], list[np.ndarray], list[str]]:
    """(.ms path, inputs in model order and layout, MindSpore Lite's outputs, onnxruntime's outputs, output names)."""
    data = np.load(DATA / f"{name}.npz")
    count = len(data["input_names"])
    outs = len(data["output_names"])
    msl = [data[f"msl_{i}"] for i in range(outs)] if "msl_0" in data.files else []
    return (DATA / f"{name}.ms", [data[f"in_{i}"] for i in range(count)], msl,
            [data[f"ort_{i}"] for i in range(outs)], [str(n) for n in data["output_names"]])


def error_over_scale(got: np.ndarray, want: np.ndarray) -> float:
    scale = float(np.max(np.abs(want))) or 1.0
    return float(np.max(np.abs(np.asarray(got, np.float64).reshape(want.shape) - want))) / scale


def assert_matches(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    """Within rtol 1e-4 and atol 1e-5 x scale (the output's largest magnitude), same shape."""
    got = np.asarray(got)
    assert got.size == want.size, f"{what}: {got.shape} vs {want.shape}"
    assert got.shape == want.shape or got.reshape(want.shape).shape == want.shape, (got.shape, want.shape)
    scale = float(np.max(np.abs(want))) or 1.0
    ok = np.allclose(got.reshape(want.shape), want, rtol=RTOL, atol=ATOL_OF_SCALE * scale)
    assert ok, f"{what}: max error {error_over_scale(got, want):.3g} x scale {scale:.3g}"
