"""TensorFlow-made test models for the TFLite frontend, and LiteRT as their oracle.

Each builder returns a small Keras model with random (seeded) weights; :func:`make`
converts it with ``tf.lite.TFLiteConverter`` (float, or int8 post-training
quantisation with int8 input/output over a seeded representative dataset).
TensorFlow is imported only here (tests and development), never by litert.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tf():
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    return tf


def small_cnn():
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((16, 16, 3), batch_size=1)
    y = k.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = k.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = k.Conv2D(16, 1)(y)
    y = k.MaxPooling2D(2)(y)
    y = k.AveragePooling2D(2, padding="same")(y)
    y = k.Flatten()(y)
    y = k.Dense(10, activation="softmax")(y)
    return tf.keras.Model(x, y)


# The applications end in logits (no softmax): random weights make a softmax one-hot, which would hide errors.


def mobilenet_v2():
    tf = _tf()
    return tf.keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, weights=None, classes=10,
                                             classifier_activation=None)


def resnet50():
    tf = _tf()
    return tf.keras.applications.ResNet50(input_shape=(64, 64, 3), weights=None, classes=10, classifier_activation=None)


def efficientnet_b0():
    tf = _tf()
    return tf.keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=10,
                                                classifier_activation=None)


def lstm():
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((12, 8), batch_size=2)
    y = k.LSTM(16, return_sequences=True, unroll=True)(x)  # unrolled: plain operators, no WHILE
    y = k.LSTM(8, unroll=True)(y)
    y = k.Dense(4)(y)
    return tf.keras.Model(x, y)


def transformer_encoder():
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((10, 32), batch_size=1)
    a = k.MultiHeadAttention(num_heads=4, key_dim=8)(x, x)
    h = k.LayerNormalization(epsilon=1e-5)(x + a)
    f = k.Dense(64, activation="gelu")(h)
    f = k.Dense(32)(f)
    y = k.LayerNormalization(epsilon=1e-5)(h + f)
    y = k.GlobalAveragePooling1D()(y)
    return tf.keras.Model(x, k.Dense(5, activation="tanh")(y))


def unet():
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((32, 32, 3), batch_size=1)
    c1 = k.Conv2D(8, 3, padding="same", activation="relu")(x)
    p1 = k.MaxPooling2D()(c1)
    c2 = k.Conv2D(16, 3, padding="same", activation="relu")(p1)
    p2 = k.MaxPooling2D()(c2)
    b = k.Conv2D(32, 3, padding="same", activation="relu")(p2)
    u2 = k.Conv2DTranspose(16, 2, strides=2, padding="same")(b)
    c3 = k.Conv2D(16, 3, padding="same", activation="relu")(k.Concatenate()([u2, c2]))
    u1 = k.UpSampling2D()(c3)
    c4 = k.Conv2D(8, 3, padding="same", activation="relu")(k.Concatenate()([u1, c1]))
    return tf.keras.Model(x, k.Conv2D(2, 1, activation="sigmoid")(c4))


def detection_head():
    """SSD-style head: per-anchor class scores (sigmoid) and decoded boxes (exp for sizes), no NMS."""
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((32, 32, 3), batch_size=1)
    f = k.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    f = k.Conv2D(16, 3, strides=2, padding="same", activation="relu")(f)
    cls = k.Reshape((-1, 3))(k.Conv2D(2 * 3, 3, padding="same")(f))
    reg = k.Reshape((-1, 4))(k.Conv2D(2 * 4, 3, padding="same")(f))
    scores = k.Activation("sigmoid")(cls)
    centres = reg[..., :2] * 0.1
    sizes = tf.keras.ops.exp(reg[..., 2:] * 0.2)
    boxes = k.Concatenate(axis=-1)([centres - sizes / 2, centres + sizes / 2])
    return tf.keras.Model(x, [scores, boxes])


def mlp_resize():
    """Bilinear resize, padding, mean/max reductions, leaky ReLU, elementwise ops."""
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((8, 8, 4), batch_size=1)
    y = k.Resizing(12, 12, interpolation="bilinear")(x)
    y = k.ZeroPadding2D(((1, 0), (0, 1)))(y)
    y = k.Conv2D(6, 3, dilation_rate=2)(y)
    y = k.LeakyReLU(0.2)(y)
    y = k.BatchNormalization()(y, training=False)
    m = k.GlobalMaxPooling2D()(y)
    a = k.GlobalAveragePooling2D()(y)
    return tf.keras.Model(x, k.Multiply()([m, a]) - k.Maximum()([m, a]))


BUILDERS = {
    "small_cnn": small_cnn, "mobilenet_v2": mobilenet_v2, "resnet50": resnet50,
    "efficientnet_b0": efficientnet_b0, "lstm": lstm, "transformer_encoder": transformer_encoder,
    "unet": unet, "detection_head": detection_head, "mlp_resize": mlp_resize,
}
#: the models also converted with int8 post-training quantisation
INT8 = ("small_cnn", "mobilenet_v2", "unet")


def _representative(model, count: int = 8):
    rng = np.random.default_rng(1)
    shapes = [tuple(1 if d is None else d for d in t.shape) for t in model.inputs]

    def data():
        for _ in range(count):
            yield [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return data


def make(name: str, folder: Path, int8: bool = False) -> Path:
    """Build model ``name``, convert it, write ``<folder>/<name>[_int8].tflite``; its path."""
    tf = _tf()
    model = BUILDERS[name]()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative(model)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    path = Path(folder) / f"{name}{'_int8' if int8 else ''}.tflite"
    path.write_bytes(converter.convert())
    return path


def litert_interpreter_run(path: Path, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Google's LiteRT interpreter (``ai-edge-litert``): outputs in the model's output order."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    for detail, feed in zip(interp.get_input_details(), feeds):
        interp.set_tensor(detail["index"], feed)
    interp.invoke()
    return [interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()]


def random_inputs(path: Path, seed: int = 0) -> list[np.ndarray]:
    """Seeded inputs of the model's input shapes and dtypes (int8 inputs over their whole range)."""
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(seed)
    out = []
    for d in Interpreter(model_path=str(path)).get_input_details():
        if d["dtype"] == np.float32:
            out.append(rng.standard_normal(d["shape"]).astype(np.float32))
        else:
            info = np.iinfo(d["dtype"])
            out.append(rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"]))
    return out


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    for n in BUILDERS:
        print(make(n, target))
    for n in INT8:
        print(make(n, target, int8=True))
