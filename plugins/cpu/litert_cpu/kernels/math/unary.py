"""Attribute-free elementwise unary operators, one numpy ufunc each.

Every kernel keeps the input dtype (numpy ufuncs do), except the predicates
(IsNaN, IsInf) which return bool.  Floating-point warnings (log(-1), 1/0, ...)
are silenced: ONNX defines the results as the IEEE values numpy produces.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import erf

UNARY_UFUNCS = {
    "Abs": np.abs,
    "Neg": np.negative,
    "Reciprocal": np.reciprocal,
    "Sqrt": np.sqrt,
    "Exp": np.exp,
    "Log": np.log,
    "Ceil": np.ceil,
    "Floor": np.floor,
    "Round": np.rint,  # round half to even
    "Sign": np.sign,
    "Sin": np.sin,
    "Cos": np.cos,
    "Tan": np.tan,
    "Asin": np.arcsin,
    "Acos": np.arccos,
    "Atan": np.arctan,
    "Sinh": np.sinh,
    "Cosh": np.cosh,
    "Asinh": np.arcsinh,
    "Acosh": np.arccosh,
    "Atanh": np.arctanh,
    "Tanh": np.tanh,
    "IsNaN": np.isnan,
    "Not": np.logical_not,
    "BitwiseNot": np.invert,
}


class UnaryUfunc(Kernel):
    """Applies ``self.fn`` (a numpy ufunc) to the single input."""

    fn = staticmethod(np.positive)

    def run(self, x):
        with np.errstate(all="ignore"):
            return (np.asarray(self.fn(x)),)


for _name, _fn in UNARY_UFUNCS.items():
    kernel(_name)(type(_name, (UnaryUfunc,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}."}))


@kernel("Erf")
class Erf(Kernel):
    """erf via a float32 rational approximation (float64 inputs use Cephes)."""

    def run(self, x):
        if x.dtype.kind in "iu":
            return (erf(x.astype(np.float32)).astype(x.dtype),)
        return (erf(x),)


@kernel("IsInf")
class IsInf(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.neg = bool(attrs.get("detect_negative", 1))
        self.pos = bool(attrs.get("detect_positive", 1))

    def run(self, x):
        if self.neg and self.pos:
            return (np.asarray(np.isinf(x)),)
        if not (self.neg or self.pos):
            return (np.zeros(x.shape, dtype=bool),)
        with np.errstate(invalid="ignore"):
            return (np.asarray((x == np.inf) if self.pos else (x == -np.inf)),)


@kernel("Identity")
class Identity(Kernel):
    """Returns the input object itself (tensors, sequences and optionals alike)."""

    def run(self, x=None):
        return (x,)
