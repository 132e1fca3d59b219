"""Softmax, LogSoftmax, Hardmax and Dropout (inference identity).

Opset 13 semantics (one axis); the ONNX frontend rewrites the older 2-D
coercion at ``axis`` into it.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


def _sum(y: np.ndarray, axis: int) -> np.ndarray:
    """Sum with keepdims; over the contiguous last axis einsum is much faster."""
    if (axis == -1 or axis == y.ndim - 1) and y.dtype in (np.float32, np.float64) and y.flags.c_contiguous:
        return np.einsum("...i->...", y)[..., None]
    return y.sum(axis=axis, keepdims=True)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable softmax (a fresh array; ``x`` is not modified)."""
    y = x - x.max(axis=axis, keepdims=True)
    np.exp(y, out=y)
    y /= _sum(y, axis)
    return y


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    y = x - x.max(axis=axis, keepdims=True)
    y -= np.log(_sum(np.exp(y), axis))
    return y


def hardmax(x: np.ndarray, axis: int) -> np.ndarray:
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, idx, 1, axis=axis)
    return y


class _AxisOp(Kernel):
    fn = staticmethod(softmax)

    def run(self, x):
        axis = int(self.attrs.get("axis", -1))
        # computed in the input precision (also float16/bfloat16), as the
        # reference does: results then round exactly like the ONNX expectations
        y = self.fn(x, axis)
        return (y.astype(x.dtype, copy=False),)


for _name, _fn in {"Softmax": softmax, "LogSoftmax": log_softmax, "Hardmax": hardmax}.items():
    kernel(_name)(type(_name, (_AxisOp,), {"fn": staticmethod(_fn)}))


@kernel("Dropout")
class Dropout(Kernel):
    """Identity with an all-true mask, unless ``training_mode`` is set: then
    elements are dropped with ``ratio`` using a RandomState seeded by ``seed``."""

    def run(self, x, ratio=None, training_mode=None):
        training = bool(training_mode) if training_mode is not None else False
        if ratio is None:
            ratio = self.attrs.get("ratio", 0.5)  # attribute before opset 12
        ratio = float(ratio)
        want_mask = self.ctx.num_outputs > 1
        if not training or ratio == 0:
            return (x, np.ones(x.shape, bool)) if want_mask else (x,)
        rng = np.random.RandomState(self.attrs.get("seed"))
        mask = rng.uniform(0.0, 1.0, x.shape) >= ratio
        y = (mask * x * (1.0 / (1.0 - ratio))).astype(x.dtype)
        return (y, mask) if want_mask else (y,)
