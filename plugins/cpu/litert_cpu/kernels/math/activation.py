"""Activation functions.

Each entry of :data:`STANDALONE` maps an op to ``fn(x, attrs)`` (its kernel).  The
functions work in the input dtype (python-float attributes are weak scalars
under NEP 50, so float32 stays float32) and reuse their first temporary as the
output buffer to keep memory traffic low.  numexpr was measured and lost to
numpy's SIMD ufuncs for all of these, so it is not used here.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import blockwise, erf, erf_f32

_SQRT1_2 = 0.7071067811865476
_SQRT_2_PI = 0.7978845608028654


def _sigmoid(x: np.ndarray) -> np.ndarray:
    r = np.negative(x)
    np.exp(r, out=r)
    r += 1
    return np.reciprocal(r, out=r)


def relu(x, attrs):
    if x.dtype in _NATIVE:  # a two-sided clip is ~3x faster than np.maximum (numpy 2.x, float32)
        return np.clip(x, 0, np.inf)
    return np.maximum(x, x.dtype.type(0))


def sigmoid(x, attrs):
    return _sigmoid(x)


def leaky_relu(x, attrs):
    alpha = attrs.get("alpha", 0.01)
    ax = x * alpha
    # max(x, a*x) is x for x >= 0 and a*x for x < 0 whenever a <= 1.
    return np.maximum(x, ax, out=ax) if alpha <= 1 else np.minimum(x, ax, out=ax)


def elu(x, attrs):
    r = np.minimum(x, 0)
    np.expm1(r, out=r)
    r *= attrs.get("alpha", 1.0)
    r += np.maximum(x, 0)
    return r


def celu(x, attrs):
    alpha = attrs.get("alpha", 1.0)
    r = np.minimum(x, 0)
    r /= alpha
    np.expm1(r, out=r)
    r *= alpha
    r += np.maximum(x, 0)
    return r


def selu(x, attrs):
    r = np.minimum(x, 0)
    np.expm1(r, out=r)
    r *= attrs.get("alpha", 1.67326319217681884765625)
    r += np.maximum(x, 0)
    r *= attrs.get("gamma", 1.05070102214813232421875)
    return r


def hard_sigmoid(x, attrs):
    r = x * attrs.get("alpha", 0.2)
    r += attrs.get("beta", 0.5)
    return np.clip(r, 0, 1, out=r)


def hard_swish(x, attrs):
    r = x * (1.0 / 6.0)
    r += 0.5
    np.clip(r, 0, 1, out=r)
    r *= x
    return r


def softplus(x, attrs):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), overflow-free.
    r = np.abs(x)
    np.negative(r, out=r)
    np.exp(r, out=r)
    np.log1p(r, out=r)
    r += np.maximum(x, 0)
    return r


def softsign(x, attrs):
    r = np.abs(x)
    r += 1
    return np.divide(x, r, out=r)


def mish(x, attrs):
    # tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2); exp is clamped
    # where the ratio is already 1 in float precision.
    e = np.minimum(x, 20)
    np.exp(e, out=e)
    n = e + 2
    n *= e
    d = n + 2
    np.divide(n, d, out=n)
    n *= x
    return n


def _gelu_erf(x):
    r = x * _SQRT1_2
    if r.dtype == np.float32:
        erf_f32(r, out=r)
    else:
        r = erf(r)
    r += 1
    r *= x
    r *= 0.5
    return r


def gelu(x, attrs):
    if attrs.get("approximate", "none") != "tanh":
        return blockwise(_gelu_erf, x)
    r = x * x
    r *= 0.044715
    r += 1
    r *= x
    r *= _SQRT_2_PI
    np.tanh(r, out=r)
    r += 1
    r *= x
    r *= 0.5
    return r


def thresholded_relu(x, attrs):
    r = np.zeros_like(x)
    np.copyto(r, x, where=x > attrs.get("alpha", 1.0))
    return r


def shrink(x, attrs):
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    xf = x if x.dtype.kind == "f" else x.astype(np.float64)
    r = np.zeros_like(xf)
    np.subtract(xf, bias, out=r, where=xf > lambd)
    np.add(xf, bias, out=r, where=xf < -lambd)
    return r.astype(x.dtype, copy=False)


def swish(x, attrs):
    r = x * -attrs.get("alpha", 1.0)
    np.exp(r, out=r)
    r += 1
    return np.divide(x, r, out=r)


#: the standalone activation kernels (the fused ones, ``fn(x, params)``, are ``kernels.nn._common.ACTIVATIONS``,
#: derived from the core table :data:`litert.activations.ACTIVATIONS`)
STANDALONE = {
    "Relu": relu,
    "Sigmoid": sigmoid,
    "LeakyRelu": leaky_relu,
    "Elu": elu,
    "Celu": celu,
    "Selu": selu,
    "HardSigmoid": hard_sigmoid,
    "HardSwish": hard_swish,
    "Softplus": softplus,
    "Softsign": softsign,
    "Mish": mish,
    "Gelu": gelu,
    "ThresholdedRelu": thresholded_relu,
    "Shrink": shrink,
    "Swish": swish,
}

# numpy's own float types compute directly; other inputs (bfloat16 and other
# ml_dtypes floats, ints) go through float32 and are cast back, except for the
# ops that are exact on any dtype (Relu, Shrink, ThresholdedRelu).
_NATIVE = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


class Activation(Kernel):
    fn = staticmethod(relu)

    def run(self, x, out=None):
        if out is not None and self.fn is relu and x.dtype in _NATIVE and out.dtype == x.dtype and out.shape == x.shape:
            return (np.clip(x, 0, np.inf, out=out),)
        dt, shape = x.dtype, x.shape
        if x.ndim == 0:  # ufuncs on 0-d arrays return scalars, which break out=
            x = x.reshape(1)
        with np.errstate(all="ignore"):
            if dt in _NATIVE or self.fn in (relu, shrink, thresholded_relu):
                r = self.fn(x, self.attrs)
            else:
                r = self.fn(x.astype(np.float32), self.attrs).astype(dt)
        return (r.reshape(shape),)


for _name, _fn in STANDALONE.items():
    kernel(_name)(type(_name, (Activation,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}.",
                                              "inplace": (0,) if _name == "Relu" else ()}))


@kernel("PRelu")
class PRelu(Kernel):
    """x if x >= 0 else slope * x; slope broadcasts unidirectionally to x."""

    def run(self, x, slope):
        with np.errstate(all="ignore"):
            r = np.where(x < 0, x * slope, x)
        return (r.astype(x.dtype, copy=False),)
