"""The OpenBLAS litert registers for its GEMM starts no threads of its own, and is opened only by a plan whose
steps call the GEMM.

OpenBLAS starts a server thread per extra core when it is loaded, and they spin for a while before sleeping:
on 2 cores that took a core from litert's pool for the first runs after every load (the detection head at 2
threads: 7-13 ms for ~10 runs, then 3.3).  litert calls it single-threaded anyway, so it is opened with
OPENBLAS_NUM_THREADS=1 for the dlopen and the variable is put back.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = '''
import json, os
import numpy  # its own OpenBLAS (and threads) first
before = len(os.listdir("/proc/self/task"))
os.environ["OPENBLAS_NUM_THREADS"] = "3"  # a user's setting, to be left as it was
from litert_cpu import native
module = native.module()
native.load_blas()
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


_LAZY = '''
import json, os, sys, tempfile
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto as T
import litert
from litert_cpu import native
folder = tempfile.mkdtemp()
vi = helper.make_tensor_value_info

def save(name, node, inputs, output, inits=()):
    graph = helper.make_graph([node], "g", inputs, [output], list(inits))
    path = os.path.join(folder, name + ".onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path

w = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float32), "w")
conv = save("conv", helper.make_node("Conv", ["x", "w"], ["y"]), [vi("x", T.FLOAT, [1, 4, 9, 9])],
            vi("y", T.FLOAT, [1, 8, 7, 7]), [w])
matmul = save("matmul", helper.make_node("MatMul", ["a", "b"], ["y"]),
              [vi("a", T.FLOAT, [2, 5, 7]), vi("b", T.FLOAT, [2, 7, 6])], vi("y", T.FLOAT, [2, 5, 6]))
report = {"native": native.module() is not None}
if report["native"]:
    litert.load(conv).predict({"x": np.ones((1, 4, 9, 9), np.float32)})
    report["after_conv"] = [native.module().has_blas(), native.status().detail]
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 5, 7), np.float32), rng.standard_normal((2, 7, 6), np.float32)
    session = litert.load(matmul)
    report["after_matmul"] = [native.module().has_blas(), native.status().detail]
    [got] = session.predict({"a": a, "b": b})
    report["error"] = float(np.abs(got - a @ b).max())
    report["openblas"] = native._openblas_path() is not None
print(json.dumps(report))
'''


def test_openblas_is_opened_by_the_first_plan_that_calls_the_gemm():
    """A convolution of the packed kernels leaves OpenBLAS closed; a batched MatMul of two activations (a GEMM step)
    opens it before its first run, and the status names it from then on."""
    result = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if not report["native"]:
        pytest.skip("native kernels not built here")
    assert report["after_conv"][0] is False and "GEMM" not in report["after_conv"][1]
    assert report["after_matmul"][0] is report["openblas"]
    assert "GEMM: " in report["after_matmul"][1]
    assert report["error"] < 1e-4


_SOURCES = Path(__file__).resolve().parents[1] / "native" / "src"


def _code(path: Path) -> str:
    """A C source without its comments."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(), flags=re.S)


def test_the_gemm_steps_are_the_steps_whose_kernels_call_the_gemm():
    """``GEMM_STEPS`` (the steps that open OpenBLAS) stays true to the library: ``lk_sgemm`` is called only from
    the kernels of those steps, and those only from their steps' runs (the sources are read, so that a new
    caller fails here until it is listed)."""
    from litert_cpu.native import GEMM_STEPS

    sources = {path.name: _code(path) for path in _SOURCES.glob("*.c")}
    assert {name for name, code in sources.items() if name != "gemm.c" and "lk_sgemm(" in code} == {
        "conv.c", "convtranspose.c", "matmul.c"}
    kernels = {"lk_conv2d_f32": "STEP_CONV2D", "lk_convtranspose2d_f32": "STEP_CONVTRANSPOSE2D",
               "lk_matmul_f32": "STEP_MATMUL"}
    program = sources["program.c"]
    for kernel, step in kernels.items():
        users = {name for name, code in sources.items()
                 if re.search(rf"\b{kernel}\b", code.replace(f"int {kernel}(", ""))}
        assert users == {"program.c"}, kernel
        run = re.search(rf"static int (\w+)\(const lk_step \*s[^{{]*{{\s*return {kernel}\(", program) or \
            re.search(rf"RUN_CONV\((\w+), {kernel},", program)
        assert run is not None, kernel
        assert re.search(rf"\[LK_{step}\] = {{check_\w+, {run.group(1)}}}", program), (step, run.group(1))
    assert set(GEMM_STEPS) == set(kernels.values())
