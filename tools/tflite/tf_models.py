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


def lstm_while():
    """A Keras LSTM as TensorFlow converts it by default: a WHILE over cond and body subgraphs."""
    tf = _tf()
    k = tf.keras.layers
    x = k.Input((6, 5), batch_size=2)
    y = k.LSTM(7, return_sequences=True)(x)
    return tf.keras.Model(x, k.GRU(4)(y))


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


def _op_zoo_functions(tf):
    """tf.functions each exercising a group of builtin operators (one model per group)."""
    spec4 = tf.TensorSpec((1, 4, 6, 8), tf.float32)
    spec2 = tf.TensorSpec((3, 8), tf.float32)

    def unary(x):
        a = tf.abs(x) + 0.5
        outs = [tf.exp(x * 0.1), tf.math.log(a), tf.sqrt(a), tf.math.rsqrt(a), tf.negative(x), tf.floor(x * 3),
                tf.math.ceil(x * 3), tf.round(x * 3), tf.sin(x), tf.cos(x), tf.sign(x), tf.square(x),
                tf.nn.elu(x), tf.nn.leaky_relu(x, 0.3), tf.nn.relu6(x * 4), tf.clip_by_value(x, -1.0, 1.0),
                tf.nn.sigmoid(x), tf.nn.tanh(x), tf.nn.gelu(x, approximate=True), x * tf.nn.relu6(x + 3) / 6]
        return tf.add_n(outs[:3]) + tf.concat(outs, axis=-1)[..., :8]

    def binary(x, y):
        z = tf.abs(y) + 1.0
        mask = tf.logical_and(x > y, tf.logical_not(tf.equal(x, 0.0)))
        mask = tf.logical_or(mask, tf.less_equal(x, -1.0))
        picked = tf.where(mask, x, y) + tf.where(tf.not_equal(x, y), 1.0, 0.0)
        return [tf.maximum(x, y) - tf.minimum(x, y), tf.pow(z, 0.7), tf.math.floordiv(x * 5, z),
                tf.math.floormod(x * 5, z), tf.math.squared_difference(x, y), picked,
                tf.cast(tf.greater_equal(x, y), tf.float32) + tf.cast(tf.less(x, y), tf.float32) * 2]

    def shapes(x):
        a, b = tf.split(x, 2, axis=-1)
        c, d, e = tf.split(x, [2, 5, -1], axis=-1)
        parts = tf.unstack(x, axis=1)
        stacked = tf.stack(parts[::-1], axis=1)
        t = tf.transpose(x, [0, 2, 1, 3])
        s = tf.strided_slice(x, [0, 1, 0, 0], [1, 4, 6, 8], [1, 2, 1, 3], shrink_axis_mask=1)
        g = tf.gather(x, [3, 0, 2], axis=2)
        gn = tf.gather_nd(x[0], [[0, 1], [3, 5]])
        tiled = tf.tile(x[:, :1], [1, 2, 1, 1])
        return [a * b, tf.concat([c, d, e], -1), stacked - x, tf.reshape(t, (1, 6, 4, 8)), s,
                tf.reduce_sum(g, axis=[1, 2], keepdims=True), gn, tiled,
                tf.expand_dims(tf.squeeze(x[:, :1], axis=1), 0), tf.slice(x, [0, 1, 2, 3], [-1, 2, 3, -1]),
                tf.broadcast_to(x[:, :, :1, :], (1, 4, 6, 8)), tf.reverse(x, [2]) * 0 + tf.zeros_like(x)]

    def reductions(x):
        return [tf.reduce_max(x, axis=[1, 2]), tf.reduce_min(x, axis=-1), tf.reduce_prod(x[..., :3], axis=-1),
                tf.reduce_mean(x, axis=1, keepdims=True), tf.argmax(x, axis=-1), tf.argmin(x, axis=2),
                tf.nn.softmax(x * 2.0), tf.nn.log_softmax(x), tf.math.l2_normalize(x, axis=-1),
                tf.cast(tf.shape(x), tf.float32) + tf.fill([4], 2.0)]

    def images(x):
        return [tf.nn.space_to_depth(x[:, :, :, :2], 2), tf.nn.depth_to_space(x, 2),
                tf.nn.local_response_normalization(x, depth_radius=2, bias=1.5, alpha=0.2, beta=0.6),
                tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]], mode="REFLECT"),
                tf.pad(x, [[0, 0], [1, 0], [2, 1], [0, 0]], constant_values=0.5),
                tf.image.resize(x, (7, 9), method="nearest"), tf.compat.v1.image.resize_bilinear(x, (8, 5),
                                                                                              align_corners=True),
                tf.nn.avg_pool2d(x, 3, 2, "SAME"), tf.nn.max_pool2d(x, 2, 1, "VALID")]

    def matmuls(x, y):
        w = tf.constant(np.linspace(-1, 1, 8 * 5, dtype=np.float32).reshape(8, 5))
        return [tf.matmul(x, w), tf.matmul(x, y, transpose_b=True), tf.matmul(tf.transpose(x), tf.transpose(y), transpose_a=True)]

    def misc(x, y):
        a = tf.abs(x)
        prelu = tf.maximum(x, 0.0) + tf.constant(np.linspace(0.1, 0.8, 8, dtype=np.float32)) * tf.minimum(x, 0.0)
        flags = tf.logical_not(tf.equal(tf.round(x), tf.round(y)))
        return [tf.math.divide(x, a + 1.0), tf.cast(flags, tf.float32), tf.nn.relu(a - 0.5), tf.nn.relu6(a * 9),
                tf.clip_by_value(a, 0.0, 1.0), prelu, tf.squeeze(tf.expand_dims(x, 1), [1])]

    def control(x, y):
        branch = tf.cond(tf.reduce_sum(y) > 0.0, lambda: tf.nn.relu(x) * 2.0, lambda: tf.tanh(x) - 1.0)
        _, looped = tf.while_loop(lambda i, acc: i < 3, lambda i, acc: (i + 1, acc * 0.5 + tf.sin(acc)),
                                  (tf.constant(0), x))
        return [branch, looped]

    return {"op_zoo_control": (control, [spec2, spec2]), "op_zoo_misc": (misc, [spec4, spec4]), "op_zoo_unary": (unary, [spec4]),
            "op_zoo_binary": (binary, [spec4, spec4]),
            "op_zoo_shapes": (shapes, [spec4]), "op_zoo_reductions": (reductions, [spec4]),
            "op_zoo_images": (images, [spec4]), "op_zoo_matmul": (matmuls, [spec2, spec2])}


def make_op_zoo(name: str, folder: Path) -> Path:
    """Convert one group of :func:`_op_zoo_functions` to ``<folder>/<name>.tflite``."""
    tf = _tf()
    fn, specs = _op_zoo_functions(tf)[name]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    path = Path(folder) / f"{name}.tflite"
    path.write_bytes(converter.convert())
    return path


OP_ZOO = ("op_zoo_control", "op_zoo_misc", "op_zoo_unary", "op_zoo_binary", "op_zoo_shapes", "op_zoo_reductions", "op_zoo_images",
          "op_zoo_matmul")

BUILDERS = {
    "small_cnn": small_cnn, "mobilenet_v2": mobilenet_v2, "resnet50": resnet50,
    "efficientnet_b0": efficientnet_b0, "lstm": lstm, "lstm_while": lstm_while, "transformer_encoder": transformer_encoder,
    "unet": unet, "detection_head": detection_head, "mlp_resize": mlp_resize,
}
#: the models also converted with int8 post-training quantisation
INT8 = ("small_cnn", "unet", "detection_head")


def _representative(model, count: int = 8):
    rng = np.random.default_rng(1)
    shapes = [tuple(1 if d is None else d for d in t.shape) for t in model.inputs]

    def data():
        for _ in range(count):
            yield [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return data


def make(name: str, folder: Path, int8: bool = False, int16: bool = False) -> Path:
    """Build model ``name``, convert it, write ``<folder>/<name>[_int8|_int16].tflite``; its path.

    ``int8``: full int8 post-training quantisation; ``int16``: int16 activations with int8 weights
    (TFLite's 16x8 mode); both with integer input and output."""
    tf = _tf()
    model = BUILDERS[name]()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8 or int16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative(model)
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16
            else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int16 if int16 else tf.int8
    path = Path(folder) / f"{name}{'_int16' if int16 else '_int8' if int8 else ''}.tflite"
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


def make_frozen_graph(name: str, folder: Path) -> Path:
    """Model ``name`` as a frozen TensorFlow GraphDef (``<folder>/<name>.pb``, variables folded into Consts)."""
    tf = _tf()
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = BUILDERS[name]() if name in BUILDERS else None
    if model is not None:
        specs = [tf.TensorSpec(tuple(1 if d is None else d for d in t.shape), tf.float32) for t in model.inputs]
        fn = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False))
        concrete = fn.get_concrete_function(*specs)
    else:
        body, specs = _op_zoo_functions(tf)[name]
        concrete = tf.function(body, input_signature=specs).get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    path = Path(folder) / f"{name}.pb"
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    return path


def tensorflow_run(path: Path, feeds: list[np.ndarray]) -> dict[str, np.ndarray]:
    """TensorFlow itself on a frozen GraphDef: inputs are its Placeholders in file order; the outputs (by node
    name) are the ``Identity`` nodes the freezing wrote for the function's results."""
    tf = _tf()
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(path).read_bytes())
    inputs = [n.name + ":0" for n in graph_def.node if n.op == "Placeholder"]
    outputs = sorted((n.name for n in graph_def.node if n.op == "Identity" and n.name.startswith("Identity")),
                     key=lambda s: (len(s), s))
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    pruned = fn.prune([fn.graph.get_tensor_by_name(i) for i in inputs],
                      [fn.graph.get_tensor_by_name(o + ":0") for o in outputs])
    return {name: t.numpy() for name, t in zip(outputs, pruned(*[tf.constant(f) for f in feeds]))}
