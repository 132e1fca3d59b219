"""Many converter_lite conversions and MindSpore Lite runs in one MindSpore Lite process (Python 3.7 venv).

    python msl_batch.py JOBS.json RESULTS.jsonl

``JOBS.json`` is a list of jobs, each ``{"id": ..., "kind": "convert", "onnx": F, "prefix": P}`` (writes
``P.ms``; ``input_format`` NHWC, default optimisation, as ``msl_run.py convert``) or ``{"id": ..., "kind":
"run", "ms": F, "inputs": NPZ, "outputs": NPZ}`` (inputs ``arr_0``... in model order; writes ``out_0``...).
After each job one JSON line ``{"id", "ok", "error"}`` is appended to RESULTS.jsonl and flushed, so a
crash of MindSpore Lite costs only the job it crashed in: the caller (``ms_op_coverage.py``) restarts the
batch on the jobs without a result line and records the crashed one.  Jobs already in RESULTS.jsonl are
skipped.
"""
import json
import os
import sys
import traceback

import msl_run  # beside this script: the conversion and run steps are its
import numpy as np


def convert(mslite, job):
    if not msl_run.convert_model(mslite, job["onnx"], job["prefix"]):
        raise RuntimeError("converter_lite refused the model (no .ms written)")


def run(mslite, job):
    model = msl_run.load_model(mslite, job["ms"], threads=1)
    outputs = model.predict(msl_run.feed(model, job["inputs"]))
    np.savez(job["outputs"], **{f"out_{i}": t.get_data_to_numpy() for i, t in enumerate(outputs)})


def main():
    jobs_path, results_path = sys.argv[1], sys.argv[2]
    with open(jobs_path) as f:
        jobs = json.load(f)
    done = set()
    if os.path.exists(results_path):
        with open(results_path) as f:
            done = {json.loads(line)["id"] for line in f if line.strip()}
    import mindspore_lite as mslite

    with open(results_path, "a") as out:
        for job in jobs:
            if job["id"] in done:
                continue
            out.write(json.dumps({"id": job["id"], "started": True}) + "\n")
            out.flush()
            try:
                (convert if job["kind"] == "convert" else run)(mslite, job)
                row = {"id": job["id"], "ok": True, "error": ""}
            except Exception as err:  # noqa: BLE001 - every failure is a result
                lines = [line for line in traceback.format_exception_only(type(err), err)]
                row = {"id": job["id"], "ok": False, "error": "".join(lines).strip()[-600:]}
            out.write(json.dumps(row) + "\n")
            out.flush()
    sys.stdout.write("MSL-OK\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
