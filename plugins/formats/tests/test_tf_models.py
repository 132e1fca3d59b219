"""TensorFlow frozen GraphDef frontend against TensorFlow itself.

TensorFlow freezes the same Keras models the TFLite tests use (random
weights; ``convert_variables_to_constants_v2``) and the operator-group
functions into ``.pb`` files once per session; litert reads them with its
own protos (no TensorFlow import in the frontend) and its outputs must agree
with TensorFlow's within 1e-4 of each output's scale.
"""
from __future__ import annotations

import numpy as np
import pytest
from tflite_testlib import assert_outputs_match, max_error, tf_models

import litert

TOLERANCE = 1e-4
FAST = ["small_cnn", "mobilenet_v2", "lstm", "transformer_encoder", "unet", "detection_head"]
SLOW = ["resnet50", "efficientnet_b0"]
#: op_zoo_control is left out: a frozen tf.while_loop becomes Enter/Exit/NextIteration, which litert does not read
#: (a frozen tf.cond, Switch/Merge, is read: test_tf_control_flow.py)
OP_GROUPS = [n for n in tf_models.OP_ZOO if n != "op_zoo_control"]


@pytest.fixture(scope="session")
def pb_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return tmp_path_factory.mktemp("tf_graphs")


def _check(folder, name):
    path = folder / f"{name}.pb"
    if not path.exists():
        tf_models.make_frozen_graph(name, folder)
    session = litert.load(path)
    rng = np.random.default_rng(0)
    feeds = [rng.standard_normal(i.shape).astype(np.float32) for i in session.inputs]
    want = tf_models.tensorflow_run(path, feeds)
    got = session.run({i.name: f for i, f in zip(session.inputs, feeds)})
    assert_outputs_match(want, got, session, f"{name}.pb", TOLERANCE)


@pytest.mark.parametrize("name", FAST + OP_GROUPS)
def test_frozen_graph_matches_tensorflow(pb_dir, name):
    _check(pb_dir, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_frozen_graph_matches_tensorflow_large(pb_dir, name):
    _check(pb_dir, name)


def test_convert_frozen_graph_to_onnx_and_ms(pb_dir, tmp_path):
    path = pb_dir / "small_cnn.pb"
    if not path.exists():
        tf_models.make_frozen_graph("small_cnn", pb_dir)
    feeds = [np.random.default_rng(1).standard_normal((1, 16, 16, 3)).astype(np.float32)]
    want = tf_models.tensorflow_run(path, feeds)["Identity"]
    for suffix in (".onnx", ".ms"):
        out = tmp_path / f"m{suffix}"
        litert.convert(path, out, fmk="tf")
        session = litert.load(out)
        got = session.run({session.inputs[0].name: feeds[0]})[session.outputs[0].name]
        assert max_error(want, got) <= TOLERANCE
