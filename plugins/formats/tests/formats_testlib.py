"""Helpers for the ONNX format tests: build old-opset models, round-trip, compare with onnxruntime.

Imported by the test modules (a plain module, not a conftest, so that its name cannot clash).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[3]
for _p in (_ROOT / "core", _ROOT / "plugins" / "formats"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import onnx  # noqa: E402
from onnx import helper  # noqa: E402

ort = pytest.importorskip("onnxruntime")

from litert.formats import LoadOptions  # noqa: E402
from litert_formats.onnx import OnnxFrontend, OnnxSerializer  # noqa: E402

_OPTS = ort.SessionOptions()
_OPTS.log_severity_level = 3
_OPTS.intra_op_num_threads = 1  # tiny models: thread pools only cost start-up time
_OPTS.inter_op_num_threads = 1


def make_model(nodes, inputs, outputs, opset, initializers=(), ir_version=None, functions=(), extra_opsets=()):
    """A ModelProto at ``opset``; inputs/outputs are (name, elem_type, shape) or ValueInfoProtos."""

    def vi(x):
        return x if isinstance(x, onnx.ValueInfoProto) else helper.make_tensor_value_info(*x)

    graph = helper.make_graph(nodes, "test", [vi(i) for i in inputs], [vi(o) for o in outputs], list(initializers))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, functions=list(functions))
    if ir_version is None:
        ir_version = 3 if opset < 7 else helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def load(model_or_path, tmp_path: Path, name="model.onnx", **options):
    path = Path(model_or_path) if isinstance(model_or_path, (str, Path)) else tmp_path / name
    if not isinstance(model_or_path, (str, Path)):
        onnx.save(model_or_path, str(path))
    return OnnxFrontend().load(path, LoadOptions(**options))


def roundtrip(model_proto, tmp_path: Path, **options):
    """Read ``model_proto`` with the frontend, write it back; returns (IR model, written path)."""
    ir = load(model_proto, tmp_path, **options)
    out = tmp_path / "roundtrip.onnx"
    OnnxSerializer().save(ir, out)
    return ir, out


def run_ort(model, feeds):
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    sess = ort.InferenceSession(data, _OPTS, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_written(path, feeds):
    """Run a written (latest-opset) model.

    Where onnxruntime lacks a kernel for an operator's newest version (e.g.
    RoiAlign-22, which only added types), stamp the model at that version,
    then one lower, and retry: the node form is what is under test.
    """
    model = onnx.load(str(path))
    tried = set()
    for _ in range(8):
        try:
            return run_ort(model, feeds)
        except Exception as err:  # onnxruntime NOT_IMPLEMENTED
            found = re.search(r"Could not find an implementation for (\w+)\((\d+)\)", str(err))
            if not found:
                raise
            since = int(found.group(2))
            version = since if since not in tried else since - 1
            tried.add(version)
            for opset in model.opset_import:
                if opset.domain in ("", "ai.onnx"):
                    opset.version = version
    raise AssertionError("onnxruntime could not run the written model")


def check_roundtrip(model, feeds, tmp_path, reference=None, rtol=1e-5, atol=1e-6, **options):
    """Outputs of the original (onnxruntime, or ``reference`` when given) and the round trip must match."""
    ir, out = roundtrip(model, tmp_path, **options)
    expected = reference if reference is not None else run_ort(model, feeds)
    got = run_written(out, feeds)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        e = np.asarray(e)
        assert g.shape == e.shape, (g.shape, e.shape)
        if e.dtype.kind in "fc":
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(g, e)
    return ir, out


def rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(dtype)


def onnx_data_dir() -> Path:
    return Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"
