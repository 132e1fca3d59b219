"""TensorFlow SavedModel (serving signature) frontend against TensorFlow itself, and its bad-input behaviour.

TensorFlow saves the Keras test models with ``tf.saved_model.save`` once per
session; litert reads ``saved_model.pb`` and the ``variables/`` checkpoint with
its own protos and TensorBundle reader (no TensorFlow import in the frontend);
outputs must agree with the serving signature run by TensorFlow within 1e-4
of each output's scale.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import saved_model_testlib as sl
from helpers.hostile import mutations
from tflite_testlib import assert_outputs_match, max_error

import litert
from litert.errors import LitertError, ModelLoadError
from litert.runtime.loading import read_model

TOLERANCE = 1e-4
#: mlp_resize (a dilated conv becomes SpaceToBatchND) and lstm_while (TensorList ops) are not read, as for .pb
FAST = ["small_cnn", "mobilenet_v2", "lstm", "transformer_encoder", "unet", "detection_head"]
SLOW = ["resnet50", "efficientnet_b0"]


@pytest.fixture(scope="session")
def saved_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return tmp_path_factory.mktemp("saved_models")


def _static(session):
    """The inputs' shapes with any symbolic (batch) dim fixed to 1."""
    return {i.name: tuple(d if isinstance(d, int) else 1 for d in i.shape) for i in session.inputs}


def _check(folder, name):
    pb = sl.make_saved_model(name, folder)
    session = litert.load(pb)
    session = litert.load(pb, input_shapes=_static(session))
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in session.inputs}
    want = sl.tensorflow_run(pb, feeds)
    got = session.run(feeds)
    assert_outputs_match(want, got, session, f"{name} SavedModel", TOLERANCE)


@pytest.mark.parametrize("name", FAST)
def test_saved_model_matches_tensorflow(saved_dir, name):
    _check(saved_dir, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_saved_model_matches_tensorflow_large(saved_dir, name):
    _check(saved_dir, name)


def test_convert_saved_model_to_onnx(saved_dir, tmp_path):
    pb = sl.make_saved_model("unet", saved_dir)
    x = np.random.default_rng(1).standard_normal((1, 32, 32, 3)).astype(np.float32)
    want = sl.tensorflow_run(pb, {"inputs": x})["output_0"]
    litert.convert(pb, tmp_path / "unet.onnx", fmk="tf")
    session = litert.load(tmp_path / "unet.onnx")
    assert max_error(want, session.run({"inputs": x})["output_0"]) <= TOLERANCE


@pytest.mark.parametrize("part", ["saved_model.pb", "variables/variables.index",
                                  "variables/variables.data-00000-of-00001"])
def test_truncated_and_flipped_parts_give_typed_errors(saved_dir, tmp_path, part):
    source = sl.make_saved_model("small_cnn", saved_dir).parent
    copy = tmp_path / "m"
    shutil.copytree(source, copy)
    target = copy / part
    original = target.read_bytes()
    outcomes = {"loaded": 0, "error": 0}
    for case in mutations(original, seed=len(part), cuts=40, flips=60):
        target.write_bytes(case)
        try:  # a flip inside a weight's bytes changes a value, not the structure: loading it is fine
            read_model(copy / "saved_model.pb")
            outcomes["loaded"] += 1
        except LitertError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0


def test_missing_variables_and_signature(saved_dir, tmp_path):
    source = sl.make_saved_model("small_cnn", saved_dir).parent
    copy = tmp_path / "m"
    shutil.copytree(source, copy)
    (copy / "variables" / "variables.data-00000-of-00001").unlink()
    with pytest.raises(ModelLoadError, match="missing checkpoint data shard"):
        read_model(copy / "saved_model.pb")
    shutil.rmtree(copy / "variables")
    with pytest.raises(ModelLoadError, match="no variables/ checkpoint"):
        read_model(copy / "saved_model.pb")
    from litert_formats.tf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((source / "saved_model.pb").read_bytes())
    saved.meta_graphs[0].signature_def["other"].CopyFrom(saved.meta_graphs[0].signature_def["serving_default"])
    del saved.meta_graphs[0].signature_def["serving_default"]
    saved.meta_graphs[0].signature_def["third"].method_name = "x"
    (copy / "saved_model.pb").write_bytes(saved.SerializeToString())
    with pytest.raises(ModelLoadError, match="no 'serving_default' signature"):
        read_model(copy / "saved_model.pb")


def test_functional_cond_in_a_saved_model(tmp_path):
    """``tf.cond`` stays a StatelessIf over two library functions in a SavedModel: read as a select."""
    tf = pytest.importorskip("tensorflow")

    class Module(tf.Module):
        def __init__(self):
            self.w = tf.Variable(np.linspace(-1, 1, 8, dtype=np.float32))

        @tf.function(input_signature=[tf.TensorSpec((2, 8), tf.float32), tf.TensorSpec((), tf.float32)])
        def __call__(self, x, t):
            y = tf.cond(t > 0.0, lambda: tf.nn.relu(x * self.w), lambda: tf.tanh(x) - self.w)
            z = tf.cond(tf.reduce_sum(x) > t, lambda: y * 2.0, lambda: y)
            return {"y": y, "z": z}

    module = Module()
    tf.saved_model.save(module, str(tmp_path / "m"), signatures=module.__call__.get_concrete_function())
    pb = tmp_path / "m" / "saved_model.pb"
    from litert_formats.tf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString(pb.read_bytes())
    ops = {n.op for f in saved.meta_graphs[0].graph_def.library.function for n in f.node_def}
    assert ops & {"If", "StatelessIf"}, ops
    session = litert.load(pb)
    x = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    for t in (-1.0, 0.5, 100.0):  # else/then of the first cond, both sides of the second
        want = sl.tensorflow_run(pb, {"x": x, "t": np.float32(t)})
        got = session.run({"x": x, "t": np.float32(t)})
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-6)
