"""``litert convert --fmk caffe --weight-file``, ``run``/``info`` on a prototxt, and converter_lite's Caffe flags."""
from __future__ import annotations

import subprocess
import sys

import caffe_testlib as ct
import numpy as np
import pytest
from tflite_testlib import max_error

import litert


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def squeezenet(tmp_path_factory):
    """The prototxt and (moved away from it) its caffemodel, plus litert's own outputs for one input."""
    folder = tmp_path_factory.mktemp("caffe_cli")
    prototxt, caffemodel = ct.squeezenet().save(folder)
    (folder / "weights").mkdir()
    caffemodel = caffemodel.rename(folder / "weights" / "squeezenet.caffemodel")
    x = np.random.default_rng(0).standard_normal((1, 3, 33, 33)).astype(np.float32)
    want = litert.load(prototxt, weight_file=caffemodel).run({"data": x})["prob"]
    return prototxt, caffemodel, x, want


def test_convert_with_weight_file(squeezenet, tmp_path):
    prototxt, caffemodel, x, want = squeezenet
    out = tmp_path / "m.onnx"
    result = _cli("convert", "--fmk", "caffe", "--model", prototxt, "--weight-file", caffemodel, "--output", out)
    assert result.returncode == 0, result.stderr
    session = litert.load(out)
    assert max_error(want, session.run({"data": x})["prob"]) <= 1e-5
    missing = _cli("convert", "--fmk", "caffe", "--model", prototxt, "--output", tmp_path / "m2.onnx")
    assert missing.returncode == 1 and "--weight-file" in missing.stderr
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr


def test_run_and_info_on_the_prototxt(squeezenet, tmp_path):
    prototxt, caffemodel, x, want = squeezenet
    np.save(tmp_path / "x.npy", x)
    result = _cli("run", "--model", prototxt, "--weightFile", caffemodel, "--input", tmp_path / "x.npy",
                  "--output", tmp_path / "out.npz")
    assert result.returncode == 0, result.stderr
    assert max_error(want, np.load(tmp_path / "out.npz")["prob"]) <= 1e-5
    info = _cli("info", prototxt, "--weight-file", caffemodel, "--json")
    assert info.returncode == 0, info.stderr
    assert '"format": "caffe"' in info.stdout and '"Concat"' in info.stdout


def test_converter_lite_caffe_flags(squeezenet, tmp_path):
    prototxt, caffemodel, x, want = squeezenet
    out = tmp_path / "sq"
    result = _cli("converter_lite", "--fmk=CAFFE", f"--modelFile={prototxt}", f"--weightFile={caffemodel}",
                  f"--outputFile={out}")
    assert result.returncode == 0, result.stderr
    assert "CONVERT RESULT SUCCESS:0" in result.stdout
    session = litert.load(tmp_path / "sq.ms")
    got = session.run({session.inputs[0].name: x.transpose(0, 2, 3, 1)})[session.outputs[0].name]
    assert max_error(want, got) <= 1e-5
    wrong = _cli("converter_lite", "--fmk=ONNX", f"--modelFile={prototxt}", f"--weightFile={caffemodel}",
                 f"--outputFile={tmp_path / 'x'}")
    assert wrong.returncode != 0 and "weight_file is for Caffe models" in wrong.stderr + wrong.stdout
