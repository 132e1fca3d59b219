"""A small CNN trained here, in numpy, on scikit-learn's digits (8x8 grey images, 10 classes), as ONNX.

Conv(1->8, 3x3, pad 1) Relu, Conv(8->16, 3x3, stride 2, pad 1) Relu, Flatten, Gemm(256->32) Relu,
Gemm(32->10).  Plain minibatch SGD with momentum; a fixed seed makes it reproducible.  Used by the
quantisation accuracy tests (a real trained model on real data).
"""
from __future__ import annotations

import numpy as np


def load_digits_split(seed: int = 0):
    """(train_x, train_y, test_x, test_y): NCHW float32 images in [0, 1], a fixed 70/30 split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images.astype(np.float32) / 16.0)[:, None]
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.7 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def _im2col(x, k, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, oh, ow), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return cols.reshape(n, c * k * k, oh * ow), oh, ow


def _col2im(cols, shape, k, stride, pad, oh, ow):
    n, c, h, w = shape
    cols = cols.reshape(n, c, k, k, oh, ow)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    return xp[:, :, pad:pad + h, pad:pad + w]


_LAYERS = (("conv", 1, 8, 1), ("conv", 8, 16, 2), ("fc", 256, 32, 0), ("fc", 32, 10, 0))


def train(epochs: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    train_x, train_y, _, _ = load_digits_split(seed)
    rng = np.random.default_rng(seed)
    params = {}
    for index, (kind, cin, cout, _) in enumerate(_LAYERS):
        fan_in = cin * 9 if kind == "conv" else cin
        shape = (cout, cin, 3, 3) if kind == "conv" else (cout, cin)
        params[f"w{index}"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[f"b{index}"] = np.zeros(cout, np.float32)
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for epoch in range(epochs):
        rate = 0.05 if epoch < epochs - 3 else 0.01
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            grads = _gradients(params, train_x[batch], train_y[batch])
            for key in params:
                velocity[key] = 0.9 * velocity[key] - rate * grads[key]
                params[key] += velocity[key]
    return params


def _gradients(params, x, y):
    cache, a = [], x
    for index, (kind, _, cout, stride) in enumerate(_LAYERS):
        w, b = params[f"w{index}"], params[f"b{index}"]
        if kind == "conv":
            cols, oh, ow = _im2col(a, 3, stride, 1)
            z = (w.reshape(cout, -1) @ cols).reshape(len(a), cout, oh, ow) + b[:, None, None]
            cache.append((kind, a.shape, cols, oh, ow, stride))
        else:
            a_flat = a.reshape(len(a), -1)
            z = a_flat @ w.T + b
            cache.append((kind, a.shape, a_flat, 0, 0, 0))
        a = np.maximum(z, 0) if index < len(_LAYERS) - 1 else z
        cache[-1] += (z,)
    probs = np.exp(a - a.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    delta = probs
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)
    grads = {}
    for index in reversed(range(len(_LAYERS))):
        kind, in_shape, saved, oh, ow, stride, z = cache[index]
        if index < len(_LAYERS) - 1:
            delta = delta * (z > 0)
        w = params[f"w{index}"]
        if kind == "conv":
            d = delta.reshape(len(delta), w.shape[0], -1)
            grads[f"w{index}"] = np.einsum("nop,nkp->ok", d, saved).reshape(w.shape)
            grads[f"b{index}"] = d.sum((0, 2))
            delta = _col2im(np.einsum("ok,nop->nkp", w.reshape(w.shape[0], -1), d), in_shape, 3, stride, 1, oh, ow)
        else:
            grads[f"w{index}"] = delta.T @ saved
            grads[f"b{index}"] = delta.sum(0)
            delta = (delta @ w).reshape(in_shape)
    return grads


def to_onnx(params: dict[str, np.ndarray], path, batch=None) -> None:
    """Write the trained net as an ONNX model with input ``image`` [batch, 1, 8, 8] and output ``logits``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Conv", ["image", "w0", "b0"], ["c0"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv0"),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        helper.make_node("Conv", ["r0", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
                         name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Flatten", ["r1"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["g2"], transB=1, name="fc2"),
        helper.make_node("Relu", ["g2"], ["r2"], name="relu2"),
        helper.make_node("Gemm", ["r2", "w3", "b3"], ["logits"], transB=1, name="fc3"),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch or "batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch or "batch", 10])],
        [numpy_helper.from_array(v, k) for k, v in params.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
