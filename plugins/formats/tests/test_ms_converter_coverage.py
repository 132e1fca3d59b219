"""What converter_lite 2.0 produces from every ONNX operator, read and written by litert.

The data is the committed run of ``tools/mslite/ms_op_coverage.py`` (``tests/data/ms_coverage``): for each
ONNX operator converter_lite converts, its ``.ms`` file, the inputs and MindSpore Lite's outputs.  The
default run checks, without MindSpore Lite, that every committed file reads in litert as the JSON says
(with MindSpore Lite's outputs where it agreed), and that what litert writes back reads again with the
same outputs.  ``-m live`` reruns the whole round trip against MindSpore Lite 2.0 and checks that no row
got worse than the committed JSON (which ``docs/coverage-ms.md`` is generated from).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import ms_op_coverage as cov  # noqa: E402

import litert  # noqa: E402
from litert.errors import LitertError  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.ms.writer import MsSerializer  # noqa: E402

DATA = ROOT / "tests" / "data" / "ms_coverage"
ROWS: dict = json.loads((DATA / cov.FIXTURE).read_text())["ops"]
CONVERTED = sorted(op for op, r in ROWS.items() if r.get("converted"))


def _case(op: str) -> tuple[Path, list[np.ndarray], list[np.ndarray] | None]:
    data = np.load(DATA / f"{cov.stem(op)}.npz")
    inputs = [data[f"in_{i}"] for i in range(sum(1 for k in data.files if k.startswith("in_")))]
    msl = [data[f"msl_{i}"] for i in range(sum(1 for k in data.files if k.startswith("msl_")))]
    return DATA / f"{cov.stem(op)}.ms", inputs, (msl if msl else None)


def _check(got: list, want: list, what: str) -> None:
    ok, worst = cov.agree(list(got), want)
    assert ok, f"{what}: max error {worst:.3g} x scale"


def test_every_onnx_operator_has_a_row():
    import onnx_op_cases

    assert set(onnx_op_cases.CASES) | set(onnx_op_cases.NOT_BUILT) <= set(ROWS)
    assert all((DATA / f"{cov.stem(op)}.ms").exists() and (DATA / f"{cov.stem(op)}.npz").exists() for op in CONVERTED)
    assert sum((DATA / f"{cov.stem(op)}.ms").stat().st_size for op in CONVERTED) < 2_000_000


@pytest.mark.parametrize("op", CONVERTED)
def test_converter_lite_file_reads_as_recorded(op):
    row = ROWS[op]
    path, inputs, msl = _case(op)
    if not row["litert_read"]:
        with pytest.raises(LitertError):
            litert.load(path, threads=1).predict(inputs)
        pytest.skip(f"not read, as recorded: {row.get('note') or row['read_error']}")
    outputs = litert.load(path, threads=1).predict(inputs)
    if msl is not None:
        assert row["agrees"], f"{op}: the JSON records a disagreement; rerun tools/mslite/ms_op_coverage.py"
        _check(outputs, msl, f"{op}: litert vs MindSpore Lite")


@pytest.mark.parametrize("op", [op for op in CONVERTED if ROWS[op]["litert_read"]])
def test_litert_writes_it_back(op, tmp_path):
    """litert's own file of the model reads again with MindSpore Lite's outputs (MindSpore Lite itself runs it
    in the live test)."""
    row = ROWS[op]
    path, inputs, msl = _case(op)
    out = tmp_path / f"{cov.stem(op)}.ms"
    if not row["written"]:
        with pytest.raises(LitertError):
            MsSerializer().save(read_model(path), out)
        pytest.skip(f"not written, as recorded: {row['write_error']}")
    MsSerializer().save(read_model(path), out)
    again = litert.load(out, threads=1).predict(inputs)
    if msl is not None:
        _check(again, msl, f"{op}: litert's file vs MindSpore Lite")


@pytest.mark.live
def test_live_round_trip_is_no_worse_than_committed(tmp_path):
    """The whole run again with MindSpore Lite 2.0: every row at least as good as the committed JSON."""
    import mslite_oracle

    ok, why = mslite_oracle.available()
    if not ok:
        pytest.skip(f"MindSpore Lite 2.0.0 not available: {why}")
    assert cov.main(["--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]) == 0
    fresh = json.loads((tmp_path / "out" / cov.FIXTURE).read_text())["ops"]
    keys = ("converted", "msl_runs", "litert_read", "agrees", "written", "msl_runs_written", "written_agrees")
    worse = [f"{cov.stem(op)}.{k}" for op, row in ROWS.items() for k in keys if row.get(k) and not fresh.get(op, {}).get(k)]
    assert not worse, f"rows worse than committed: {worse}"
