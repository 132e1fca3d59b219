"""The real MindSpore Lite 2.0.0 as an oracle, from the project's Python (3.10+).

MindSpore Lite lives in its own Python 3.7 venv (``build_venv.sh``); this
module runs ``msl_run.py`` there as a subprocess and reads the results from
files, so a crash at interpreter exit (which MindSpore Lite is prone to)
never costs a result.  It is used by the fixture script, the live tests and
``benchmarks/compare.py``; litert itself never imports it.

    from mslite_oracle import available, convert, run
    if available():
        convert("m.onnx", "m.ms", input_format="NHWC")
        outputs, names = run("m.ms", [x])
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "msl_run.py"
DEFAULT_VENV = Path(os.environ.get("LITERT_MSLITE_VENV", "/work/venvs/mslite37"))
TIMEOUT = float(os.environ.get("LITERT_MSLITE_TIMEOUT", "900"))


class OracleError(RuntimeError):
    """MindSpore Lite failed (conversion, loading or running); the message carries its stderr tail."""


def python() -> Path:
    return DEFAULT_VENV / "bin" / "python"


def available() -> tuple[bool, str]:
    """(True, version) when the venv holds an importable mindspore_lite, else (False, why)."""
    exe = python()
    if not exe.exists():
        return False, f"no MindSpore Lite venv at {DEFAULT_VENV} (build it with tools/mslite/build_venv.sh)"
    try:
        proc = subprocess.run([str(exe), "-c", "import mindspore_lite as m; print(m.__version__)"],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"cannot run {exe}: {err}"
    if proc.returncode != 0 or not proc.stdout.strip():
        return False, f"mindspore_lite does not import in {DEFAULT_VENV}: {proc.stderr.strip()[-300:]}"
    return True, proc.stdout.strip().splitlines()[-1]


def version_or_exit(code: int = 1) -> str:
    """MindSpore Lite's version, for a script that cannot work without it: when the venv is missing or broken,
    says why on stderr and exits with ``code``."""
    ok, version = available()
    if not ok:
        sys.stderr.write(version + "\n")
        raise SystemExit(code)
    return version


def _call(args: list[str], done: Path) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run([str(python()), str(SCRIPT)] + args, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OracleError(f"MindSpore Lite timed out ({TIMEOUT:.0f}s): {' '.join(args[:2])}") from None
    if not done.exists() or "MSL-OK" not in proc.stdout:
        tail = "\n".join(line for line in proc.stderr.splitlines() if "[WARNING]" not in line)[-1500:]
        raise OracleError(f"MindSpore Lite failed ({' '.join(args[:2])}, exit {proc.returncode}): {tail}")
    return proc


def convert(onnx_path: str | Path, ms_path: str | Path, input_format: str = "NHWC", optimize: str = "general",
            config: str | None = None, fmk: str = "ONNX", weight_fp16: bool = False) -> Path:
    """converter_lite (through the Python API): ONNX (or ``fmk="TFLITE"``: a .tflite) -> ``ms_path`` (which must
    end in .ms).

    ``config`` is the text of a converter config file (e.g. a ``[common_quant_param]`` section);
    ``weight_fp16`` is converter_lite's ``--fp16=on``."""
    ms_path = Path(ms_path)
    if ms_path.suffix != ".ms":
        raise ValueError("ms_path must end in .ms")
    prefix = ms_path.with_suffix("")
    if ms_path.exists():
        ms_path.unlink()
    args = ["convert", str(onnx_path), str(prefix), "--input-format", input_format, "--optimize", optimize,
            "--fmk", fmk] + (["--fp16"] if weight_fp16 else [])
    with tempfile.TemporaryDirectory() as tmp:
        if config:
            cfg = Path(tmp) / "converter.cfg"
            cfg.write_text(config)
            args += ["--config-file", str(cfg)]
        _call(args, ms_path)
    return ms_path


def run(ms_path: str | Path, inputs: list[np.ndarray], threads: int = 2) -> tuple[list[np.ndarray], list[str]]:
    """MindSpore Lite's outputs (and output tensor names) for ``inputs`` given in the model's input order."""
    with tempfile.TemporaryDirectory() as tmp:
        feed, result = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(feed, *inputs)
        _call(["run", str(ms_path), str(feed), str(result), "--threads", str(threads)], result)
        data = np.load(result)
        count = len([k for k in data.files if k.startswith("out_")])
        return [data[f"out_{i}"] for i in range(count)], [str(n) for n in data["names"]]


def bench(ms_path: str | Path, inputs: list[np.ndarray], threads: int = 1, warmup: int = 3, loops: int = 20) -> dict:
    """MindSpore Lite's own latency, measured inside its process: ``median_ms``, ``min_ms``, ``times_ms``,
    ``load_s``, ``peak_rss_mb``, ``output_checksum``, ``output_scale`` (of the first output)."""
    with tempfile.TemporaryDirectory() as tmp:
        feed, result = Path(tmp) / "in.npz", Path(tmp) / "bench.json"
        np.savez(feed, *inputs)
        _call(["bench", str(ms_path), str(feed), str(result), "--threads", str(threads), "--warmup", str(warmup),
               "--loops", str(loops)], result)
        return json.loads(result.read_text())

