"""TensorFlow SavedModels of the Keras test models (``tools/tflite/tf_models.py``), and TensorFlow as their oracle.

``tf.saved_model.save`` writes each model's serving signature (resource
variables in ``variables/``, the computation as library functions); litert
reads ``saved_model.pb`` without TensorFlow.  TensorFlow is imported only here.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tflite_testlib import tf_models

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def make_saved_model(name: str, folder: Path) -> Path:
    """``<folder>/<name>/saved_model.pb`` (and its ``variables/``) of model ``name``."""
    import tensorflow as tf

    target = Path(folder) / name
    if not (target / "saved_model.pb").exists():
        model = tf_models.BUILDERS[name]()
        tf.saved_model.save(model, str(target))
    return target / "saved_model.pb"


def tensorflow_run(saved_model_pb: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The serving signature run by TensorFlow itself, keyed by output name."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(Path(saved_model_pb).parent))
    outputs = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in feeds.items()})
    return {k: v.numpy() for k, v in outputs.items()}
