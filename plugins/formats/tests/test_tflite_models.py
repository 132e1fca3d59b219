"""TFLite frontend against Google's LiteRT interpreter (``ai-edge-litert``) on TensorFlow-made and real models.

The TensorFlow models (``tools/tflite/tf_models.py``: Keras applications with
random weights, an LSTM, a transformer encoder, a U-Net, a detection head...)
are converted once per session by ``tf.lite.TFLiteConverter`` into a
temporary folder; int8 versions are post-training quantised.  Float outputs
must agree within 1e-4 of each output's scale, int8 outputs within one
quantisation step.  The real models are microWakeWord's trained int8
streaming models shipped in the ``pymicro-wakeword`` wheel.
"""
from __future__ import annotations

import importlib.resources
import importlib.util

import numpy as np
import pytest
from tflite_testlib import max_error, run_litert, tf_models

pytest.importorskip("ai_edge_litert")

FLOAT_TOLERANCE = 1e-4
INT8_TOLERANCE = 1  # quantisation steps
INT16_TOLERANCE = 2  # int16 activations (16x8): 2 of 65536 steps, the rounding of two chained operators

FAST = ["small_cnn", "mobilenet_v2", "lstm", "lstm_while", "transformer_encoder", "unet", "detection_head", "mlp_resize",
        "small_cnn_int8", "unet_int8", "detection_head_int8", "small_cnn_int16", "detection_head_int16"]
SLOW = ["resnet50", "efficientnet_b0"]


@pytest.fixture(scope="session")
def tf_model_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return tmp_path_factory.mktemp("tflite_models")


def _model(folder, name):
    path = folder / f"{name}.tflite"
    if not path.exists():
        base, _, kind = name.partition("_int")
        if kind not in ("8", "16"):
            base = name
        tf_models.make(base, folder, int8=kind == "8", int16=kind == "16")
    return path


def _check(path, seeds=(0,)):
    errors = []
    for seed in seeds:
        feeds = tf_models.random_inputs(path, seed)
        ref = tf_models.litert_interpreter_run(path, feeds)
        got = run_litert(path, feeds)
        assert len(ref) == len(got)
        for r, g in zip(ref, got):
            errors.append(max_error(r, g))
            tolerance = {"f": FLOAT_TOLERANCE}.get(r.dtype.kind, INT16_TOLERANCE if r.itemsize == 2 else INT8_TOLERANCE)
            assert errors[-1] <= tolerance, f"{path.name}: error {errors[-1]} over {tolerance}"
            if r.dtype.kind != "f":  # not a saturated, trivially equal output
                assert len(np.unique(r)) > 1
    print(f"{path.name}: max error {max(errors):.3g}")
    return max(errors)


@pytest.mark.parametrize("name", FAST)
def test_tensorflow_made_model(tf_model_dir, name):
    _check(_model(tf_model_dir, name), seeds=(0, 1) if "_int" in name else (0,))


@pytest.mark.parametrize("name", tf_models.OP_ZOO)
def test_operator_groups(tf_model_dir, name):
    """Groups of builtin operators (unary, binary, shape, reductions, image, matmul ...) in one model each."""
    path = tf_model_dir / f"{name}.tflite"
    if not path.exists():
        tf_models.make_op_zoo(name, tf_model_dir)
    _check(path, seeds=(0,))


def test_if_takes_both_branches(tf_model_dir):
    """op_zoo_control: an IF on the sign of sum(y) and a WHILE; y and -y take the two branches."""
    path = tf_model_dir / "op_zoo_control.tflite"
    if not path.exists():
        tf_models.make_op_zoo("op_zoo_control", tf_model_dir)
    x, y = tf_models.random_inputs(path, 5)
    for flip in (1.0, -1.0):
        feeds = [x, (np.abs(y) * flip).astype(np.float32)]
        for r, g in zip(tf_models.litert_interpreter_run(path, feeds), run_litert(path, feeds)):
            assert max_error(r, g) <= FLOAT_TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_tensorflow_made_model_large(tf_model_dir, name):
    _check(_model(tf_model_dir, name))


def _wake_word_models():
    if importlib.util.find_spec("pymicro_wakeword") is None:
        return []
    return sorted(p for p in (importlib.resources.files("pymicro_wakeword") / "models").iterdir()
                  if p.name.endswith(".tflite"))


@pytest.mark.parametrize("path", _wake_word_models(), ids=lambda p: p.name)
def test_real_wake_word_model(path):
    """microWakeWord's int8 streaming models (resource variables, CALL_ONCE, SPLIT_V, depthwise convs...):
    the output probability saturates for random features, so the logit before it is compared as well."""
    from ai_edge_litert.interpreter import Interpreter

    from litert_formats.tflite.tflfile import TflFile

    sub = TflFile(path).subgraphs[0]
    logistic = next(op for op in sub.operators if op.op_name == "LOGISTIC")
    logit = sub.tensors[logistic.inputs[0]]
    spread = set()
    rng = np.random.default_rng(0)
    for level in (20, 60, 120):  # quiet to loud: spectrogram features sit near the int8 minimum
        feeds = [rng.integers(-128, -128 + level, (1, 3, 40)).astype(np.int8)]
        interp = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
        interp.allocate_tensors()
        interp.set_tensor(interp.get_input_details()[0]["index"], feeds[0])
        interp.invoke()
        ref = [interp.get_tensor(d["index"]) for d in interp.get_output_details()] + [interp.get_tensor(logit.index)]
        got = run_litert(path, feeds, extra_outputs=(logit.name,))
        for r, g in zip(ref, got):
            assert max_error(r, g) <= INT8_TOLERANCE
        spread.add(int(ref[-1].ravel()[0]))
    assert len(spread) > 1, "the logit did not depend on the input"


def test_wake_word_models_are_present():
    """The real-model tests above must not silently vanish."""
    pytest.importorskip("ai_edge_litert")
    assert len(_wake_word_models()) >= 3, "install the test extra: pymicro-wakeword ships the models"
