"""The `.ms` coverage of what converter_lite 2.0 produces: every ONNX operator through converter_lite, litert
and back to MindSpore Lite (development time; needs the venv of ``build_venv.sh``).

    python tools/mslite/ms_op_coverage.py [--out tests/data/ms_coverage] [--ops Abs,Conv,...] [--work DIR]

For each ONNX operator (:mod:`onnx_op_cases`): the one-op ONNX model is converted by MindSpore Lite 2.0's
``Converter`` (converter_lite's engine: ONNX, ``input_format`` NHWC, default optimisation); when it converts,
the primitives of the ``.ms`` are listed, MindSpore Lite runs it on seeded inputs (the reference), litert
loads and runs it (``litert.load``), litert's ``.ms`` writer writes it back and MindSpore Lite runs that
file.  Outputs agree when the largest absolute difference is at most ``TOLERANCE`` times the output's scale
(its largest magnitude).  MindSpore Lite runs in its Python 3.7 venv as a batch subprocess
(``msl_batch.py``); a crash costs only the job it crashed in.

The result is ``converter_lite_2.0.json`` in ``--out`` (one row per ONNX operator, then
rows ``<op>:<form>`` for more forms of common operators, :data:`onnx_op_cases.VARIANTS`), and for each converted
operator ``<op>.ms`` (converter_lite's file) and ``<op>.npz`` (``in_<i>`` in the model's input order,
``msl_<i>`` MindSpore Lite's outputs), which the default test run checks litert against
(``plugins/formats/tests/test_ms_converter_coverage.py``); ``tools/coverage_tables.py`` makes the
table of ``docs/coverage-ms.md`` from the JSON.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _p in (HERE, ROOT / "core", ROOT / "plugins" / "formats"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import mslite_oracle  # noqa: E402
import onnx_op_cases  # noqa: E402

DEFAULT_OUT = ROOT / "tests" / "data" / "ms_coverage"
FIXTURE = "converter_lite_2.0.json"
TOLERANCE = 1e-4
BATCH = HERE / "msl_batch.py"
JOB_TIMEOUT = 60.0


#: why a row that converter_lite converts still fails somewhere (shown in docs/coverage-ms.md)
NOTES = {
    "Asin": "converter_lite 2.0 writes a broken file (the subgraph's output index is past its tensors): MindSpore "
            "Lite cannot load it either",
    "Atan": "converter_lite 2.0 writes a broken file (the subgraph's output index is past its tensors): MindSpore "
            "Lite cannot load it either",
    "Tan": "converter_lite 2.0 writes a broken file (the subgraph's output index is past its tensors): MindSpore "
           "Lite cannot load it either",
    "ScatterElements": "MindSpore Lite 2.0 cannot build converter_lite's own file (no CPU kernel): litert reads "
                       "and writes it, nothing to compare with",
}


def stem(op: str) -> str:
    """The file name of an operator's row ("Conv:depthwise" -> "Conv-depthwise")."""
    return op.replace(":", "-")


def error_over_scale(got: np.ndarray, want: np.ndarray) -> float:
    """Largest |got - want| over want's largest magnitude (NaN where both are NaN counts as equal)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.size != want.size:
        return float("inf")
    g = got.reshape(want.shape).astype(np.float64)
    w = want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    g, w = np.where(both_nan, 0.0, g), np.where(both_nan, 0.0, w)
    finite = np.isfinite(w)
    if np.any(g[~finite] != w[~finite]):
        return float("inf")
    if not w.size:
        return 0.0
    scale = float(np.max(np.abs(w[finite]))) if finite.any() else 1.0
    diff = np.abs(g[finite] - w[finite])
    return float(diff.max() if diff.size else 0.0) / (scale or 1.0)


def agree(got: list, want: list) -> tuple[bool, float]:
    if len(got) != len(want):
        return False, float("inf")
    errors = [error_over_scale(g, w) for g, w in zip(got, want)]
    worst = max(errors) if errors else 0.0
    return worst <= TOLERANCE, worst


def msl_batch(jobs: list[dict], work: Path, tag: str) -> dict[str, dict]:
    """Run the jobs in MindSpore Lite's venv; {id: {"ok", "error"}} (a crash: ok False, error "crashed")."""
    jobs_file, results = work / f"{tag}_jobs.json", work / f"{tag}_results.jsonl"
    jobs_file.write_text(json.dumps(jobs))
    if results.exists():
        results.unlink()
    hung: set[str] = set()
    rows: list[dict] = []
    for _ in range(len(jobs) + 1):
        proc = subprocess.Popen([str(mslite_oracle.python()), str(BATCH), str(jobs_file), str(results)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        size, since = -1, time.time()
        while proc.poll() is None:  # a job that makes no progress for JOB_TIMEOUT seconds is killed
            time.sleep(0.2)
            now = results.stat().st_size if results.exists() else 0
            if now != size:
                size, since = now, time.time()
            elif time.time() - since > JOB_TIMEOUT:
                proc.kill()
                proc.wait()
                lines = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
                hung.add(lines[-1]["id"])
        rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] \
            if results.exists() else []
        started = {r["id"] for r in rows}
        if all(j["id"] in started for j in jobs):
            break
    out: dict[str, dict] = {}
    for r in rows:
        if "ok" in r:
            out[r["id"]] = r
    for j in jobs:
        why = f"MindSpore Lite hung (killed after {JOB_TIMEOUT:.0f}s)" if j["id"] in hung else "MindSpore Lite crashed"
        out.setdefault(j["id"], {"ok": False, "error": why})
    return out


def converter_log(onnx_path: Path, work: Path) -> str:
    """converter_lite's own ERROR lines for a refused model (one conversion, its stderr)."""
    proc = subprocess.run([str(mslite_oracle.python()), str(HERE / "msl_run.py"), "convert", str(onnx_path),
                           str(work / "again")], capture_output=True, text=True, timeout=600)
    lines = [re.sub(r"^.*?\] \w+\] ", "", line).strip() for line in proc.stderr.splitlines() if "ERROR" in line]
    lines = [line for line in lines if line and not line.startswith("ME(") and not line.startswith("LITE(")]
    keep = [line for line in lines if "not support" in line.lower() or "unsupported" in line.lower()] or lines
    return " | ".join(dict.fromkeys(keep))[:400]


def make_inputs(ms, model: onnx.ModelProto, op: str, seed: int = 1) -> list[np.ndarray]:
    """Inputs for the .ms model's inputs, taken from the ONNX inputs of the same name (transposed to NHWC where
    converter_lite made the input channels-last)."""
    rng = np.random.default_rng(seed)
    case = onnx_op_cases.CASES[op]
    by_name = {}
    for (shape, etype, kind), vi in zip(case.inputs, model.graph.input):
        dtype = onnx.helper.tensor_dtype_to_np_dtype(etype)
        by_name[vi.name] = (onnx_op_cases.values(kind, shape, dtype, rng), kind)
    if ms is None:
        return [v for v, _ in by_name.values()]
    arrays = []
    for index in ms.inputs:
        t = ms.tensors[index]
        dims = tuple(int(d) for d in (t.dims or ()))
        dtype = t.dtype.numpy if t.dtype is not None else np.float32
        src = by_name.get(t.name)
        if src is not None and src[0].shape == dims:
            arrays.append(src[0].astype(dtype))
        elif src is not None and src[0].ndim == 4 and src[0].transpose(0, 2, 3, 1).shape == dims:
            arrays.append(np.ascontiguousarray(src[0].transpose(0, 2, 3, 1)).astype(dtype))
        else:
            arrays.append(onnx_op_cases.values(src[1] if src else "f", dims, dtype, rng))
    return arrays


def litert_side(ms_path: Path, inputs: list, want: list | None, rewritten: Path) -> dict:
    """litert reads and runs converter_lite's file, then writes it back to ``rewritten``."""
    import litert
    from litert.runtime.loading import read_model
    from litert_formats.ms.writer import MsSerializer

    row: dict = {"litert_read": False, "read_error": "", "agrees": None, "error": None,
                 "written": False, "write_error": ""}
    try:
        got = litert.load(ms_path, threads=1).predict(inputs)
        row["litert_read"] = True
    except Exception as err:  # noqa: BLE001 - every failure is a result
        row["read_error"] = f"{type(err).__name__}: {err}"[:400]
        return row
    if want is not None:
        ok, worst = agree(list(got), want)
        row["agrees"], row["error"] = ok, (None if not np.isfinite(worst) else float(f"{worst:.3g}"))
    try:
        MsSerializer().save(read_model(ms_path), rewritten)
        row["written"] = True
    except Exception as err:  # noqa: BLE001
        row["write_error"] = f"{type(err).__name__}: {err}"[:400]
    return row


def main(argv=None) -> int:
    from litert_formats.ms.msfile import MsFile
    from litert_formats.ms.reader import primitive_histogram

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--ops", help="comma-separated ONNX operators (default: all); merged into the fixture")
    parser.add_argument("--work", type=Path, help="keep the intermediate files here")
    args = parser.parse_args(argv)
    mslite_oracle.version_or_exit(2)
    all_ops = onnx_op_cases.all_onnx_ops()
    ops = args.ops.split(",") if args.ops else all_ops + list(onnx_op_cases.VARIANTS)
    work = args.work or Path(tempfile.mkdtemp(prefix="ms_cov_"))
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    start = time.time()
    for op in ops:
        if op in onnx_op_cases.NOT_BUILT or op not in onnx_op_cases.CASES:
            rows[op] = {"onnx_op": op, "tried": False,
                        "why": onnx_op_cases.NOT_BUILT.get(op, "no one-op model in onnx_op_cases.py")}
            continue
        model = onnx_op_cases.build(op)
        onnx.save(model, work / f"{stem(op)}.onnx")
        rows[op] = {"onnx_op": op, "tried": True, "opset": onnx_op_cases.CASES[op].opset}
    tried = [op for op in ops if rows[op]["tried"]]
    converted = msl_batch([{"id": op, "kind": "convert", "onnx": str(work / f"{stem(op)}.onnx"),
                            "prefix": str(work / f"{stem(op)}.msl")} for op in tried], work, "convert")
    runs = []
    for op in tried:
        row = rows[op]
        ms_path = work / f"{stem(op)}.msl.ms"
        row["converted"] = bool(converted[op]["ok"]) and ms_path.exists()
        if not row["converted"]:
            row["converter_error"] = converter_log(work / f"{stem(op)}.onnx", work) or converted[op]["error"][:400]
            continue
        try:
            ms = MsFile(ms_path)
        except Exception as err:  # noqa: BLE001 - litert's parser refuses converter_lite's file
            row["primitives"], row["parse_error"] = [], f"{type(err).__name__}: {err}"[:300]
            inputs = make_inputs(None, onnx.load(work / f"{stem(op)}.onnx"), op)
        else:
            row["primitives"] = sorted(primitive_histogram(ms))
            inputs = make_inputs(ms, onnx.load(work / f"{stem(op)}.onnx"), op)
        np.savez(work / f"{stem(op)}.in.npz", *inputs)
        runs.append({"id": op, "kind": "run", "ms": str(ms_path), "inputs": str(work / f"{stem(op)}.in.npz"),
                     "outputs": str(work / f"{stem(op)}.msl_out.npz")})
    reference = msl_batch(runs, work, "run_theirs")
    written_runs = []
    for job in runs:
        op, row = job["id"], rows[job["id"]]
        inputs = [v for _, v in sorted(np.load(job["inputs"]).items(), key=lambda kv: int(kv[0][4:]))]
        want = None
        row["msl_runs"] = bool(reference[op]["ok"])
        if row["msl_runs"]:
            data = np.load(job["outputs"])
            want = [data[f"out_{i}"] for i in range(len(data.files))]
        else:
            row["msl_error"] = reference[op]["error"][:300]
        row.update(litert_side(Path(job["ms"]), inputs, want, work / f"{stem(op)}.litert.ms"))
        if row["written"] and want is not None:
            written_runs.append({"id": op, "kind": "run", "ms": str(work / f"{stem(op)}.litert.ms"),
                                 "inputs": job["inputs"], "outputs": str(work / f"{stem(op)}.litert_out.npz")})
        # the fixture: converter_lite's file, the inputs, MindSpore Lite's outputs
        shutil.copyfile(job["ms"], args.out / f"{stem(op)}.ms")
        (args.out / f"{stem(op)}.ms").chmod(0o644)
        np.savez_compressed(args.out / f"{stem(op)}.npz", **{f"in_{i}": v for i, v in enumerate(inputs)},
                            **({f"msl_{i}": v for i, v in enumerate(want)} if want is not None else {}))
    theirs_of_ours = msl_batch(written_runs, work, "run_ours")
    for job in written_runs:
        op, row = job["id"], rows[job["id"]]
        row["msl_runs_written"] = bool(theirs_of_ours[op]["ok"])
        if not row["msl_runs_written"]:
            row["msl_written_error"] = theirs_of_ours[op]["error"][:300]
            continue
        data = np.load(job["outputs"])
        got = [data[f"out_{i}"] for i in range(len(data.files))]
        ref = np.load(work / f"{stem(op)}.msl_out.npz")
        want = [ref[f"out_{i}"] for i in range(len(ref.files))]
        ok, worst = agree(got, want)
        row["written_agrees"], row["written_error"] = ok, (None if not np.isfinite(worst) else float(f"{worst:.3g}"))
    fixture = args.out / FIXTURE
    old = json.loads(fixture.read_text())["ops"] if fixture.exists() and args.ops else {}
    for op, row in rows.items():
        if not row.get("converted") and (args.out / f"{stem(op)}.ms").exists():
            (args.out / f"{stem(op)}.ms").unlink()
            (args.out / f"{stem(op)}.npz").unlink(missing_ok=True)
    for op, row in rows.items():
        if op in NOTES and row.get("converted"):
            row["note"] = NOTES[op]
        for key in ("read_error", "write_error", "parse_error", "msl_error", "msl_written_error"):
            if key in row:  # no machine-specific paths in the fixture
                row[key] = row[key].replace(f"{work}/", "")
    old.update(rows)
    ordered = {op: old[op] for op in sorted(old)}
    fixture.write_text(json.dumps({
        "mindspore_lite": mslite_oracle.available()[1], "onnx": onnx.__version__, "tolerance": TOLERANCE,
        "converter": {"input_format": "NHWC", "optimize": "general"}, "ops": ordered}, indent=1) + "\n")
    print(summary(ordered))
    print(f"{len(rows)} operators in {time.time() - start:.0f}s; wrote {fixture}")
    return 0


def summary(rows: dict) -> str:
    def count(key):
        return sum(1 for r in rows.values() if r.get(key))
    return (f"ONNX ops {len(rows)}, tried {count('tried')}, converted {count('converted')}, "
            f"MSL runs {count('msl_runs')}, litert reads {count('litert_read')}, agrees {count('agrees')}, "
            f"written {count('written')}, MSL runs written {count('msl_runs_written')}, "
            f"written agrees {count('written_agrees')}")


if __name__ == "__main__":
    raise SystemExit(main())
