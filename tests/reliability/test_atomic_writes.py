"""A write that fails midway leaves the old file intact (litert convert, --output, reports)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import helper

import litert
from litert.atomic import write_bytes


def _failing_fsync(monkeypatch):
    """Make the write fail after some bytes went out, as a full disk does."""
    def fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", fsync)


def test_helper_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old model")
    _failing_fsync(monkeypatch)
    with pytest.raises(OSError):
        write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


@pytest.mark.parametrize("suffix", [".onnx", ".ms", ".mindir"])
def test_convert_over_an_existing_file_survives_a_size_limit(tmp_path, suffix):
    """``litert convert`` under a file-size limit (RLIMIT_FSIZE) smaller than the new model: the write fails
    midway; the model converted before must still be there, whole."""
    weight = helper.make_tensor("w", F, [1024], np.arange(1024, dtype=np.float32))
    model = onnx_model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], {"x": (F, [1024])},
                       {"y": (F, [1024])}, [weight])
    source = save(model, tmp_path / "src.onnx")
    target = tmp_path / f"out{suffix}"
    litert.convert(source, target)
    before = target.read_bytes()
    code = (
        "import resource, signal, sys, litert\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        f"litert.convert({str(source)!r}, {str(target)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0, "the write was expected to fail under the size limit"
    assert target.read_bytes() == before, "the previous model was damaged"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["src.onnx", target.name])


def test_run_output_and_benchmark_json_are_atomic(tmp_path, monkeypatch):
    from litert.benchmark.accuracy import write_npz
    from litert.benchmark.result import _JsonMixin

    out = tmp_path / "out.npz"
    write_npz(out, {"y": np.ones(3, np.float32)})
    before = out.read_bytes()
    _failing_fsync(monkeypatch)
    with pytest.raises(OSError):
        write_npz(out, {"y": np.zeros(1000, np.float32)})
    assert out.read_bytes() == before
    report = tmp_path / "r.json"
    report.write_text("{}\n")

    class Result(_JsonMixin):
        def to_dict(self):
            return {"a": 1}

    with pytest.raises(OSError):
        Result().to_json(report)
    assert report.read_text() == "{}\n"
