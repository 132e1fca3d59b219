"""Elementwise binary operators with numpy (multidirectional) broadcasting."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel

BINARY_UFUNCS = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "BitwiseAnd": np.bitwise_and,
    "BitwiseOr": np.bitwise_or,
    "BitwiseXor": np.bitwise_xor,
    "And": np.logical_and,
    "Or": np.logical_or,
    "Xor": np.logical_xor,
    "Equal": np.equal,
    "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal,
    "Less": np.less,
    "LessOrEqual": np.less_equal,
}


class Binary(Kernel):
    """Base of the binary kernels: numpy broadcasting (the ONNX frontend rewrites
    opset<7 ``broadcast``/``axis`` nodes into it)."""


def fits(out, a, b) -> bool:
    """True when ``out`` can hold ``a (op) b``: same dtype throughout (ONNX
    arithmetic ops take one type T) and the broadcast shape."""
    return (out is not None and out.dtype == a.dtype == b.dtype
            and out.shape == np.broadcast_shapes(a.shape, b.shape))


class BinaryUfunc(Binary):
    fn = staticmethod(np.add)

    def run(self, a, b, out=None):
        with np.errstate(all="ignore"):
            if fits(out, a, b):
                return (self.fn(a, b, out=out),)
            return (np.asarray(self.fn(a, b)),)


#: arithmetic ops may write over a dead input (see Kernel.inplace)
_INPLACE = {"Add", "Sub", "Mul"}

for _name, _fn in BINARY_UFUNCS.items():
    kernel(_name)(type(_name, (BinaryUfunc,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}.",
                                               "inplace": (0, 1) if _name in _INPLACE else ()}))


def int_div_trunc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer division rounding toward zero (C semantics), exact for int64."""
    q = np.floor_divide(a, b)
    if a.dtype.kind == "u" and b.dtype.kind == "u":
        return q
    r = np.remainder(a, b)
    fix = (r != 0) & ((a < 0) != (b < 0))
    q += fix.astype(q.dtype)
    return q


@kernel("Div")
class Div(Binary):
    inplace = (0, 1)

    def run(self, a, b, out=None):
        with np.errstate(all="ignore"):
            if a.dtype.kind in "iu":
                r = int_div_trunc(a, b)
            elif a.dtype.kind == "f" and fits(out, a, b):
                r = np.divide(a, b, out=out)
            else:
                r = np.divide(a, b)
        return (np.asarray(r).astype(a.dtype, copy=False),)


@kernel("Mod")
class Mod(Kernel):
    """fmod=0: result has the divisor's sign (Python %); fmod=1: C fmod."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.fn = np.fmod if attrs.get("fmod", 0) else np.mod

    def run(self, a, b):
        with np.errstate(all="ignore"):
            return (np.asarray(self.fn(a, b)),)


# Exponents with a cheaper exact-enough formula than pow().
_POW_FAST = {
    1.0: lambda x: x.copy(),
    2.0: np.square,
    3.0: lambda x: x * x * x,
    0.5: np.sqrt,
    -1.0: np.reciprocal,
}


@kernel("Pow")
class Pow(Binary):
    """base ** exponent; the output has the base's dtype whatever the exponent's."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        e = ctx.const(1)
        self.fast = None
        if e is not None and e.size == 1 and e.dtype.kind in "fiu":
            self.fast = _POW_FAST.get(float(e))

    def run(self, a, b):
        with np.errstate(all="ignore"):
            if self.fast is not None and a.dtype.kind == "f" and b.ndim <= a.ndim:
                return (np.asarray(self.fast(a)),)
            if a.dtype.kind == "f":
                if a.dtype == np.float16:
                    r = np.power(a.astype(np.float32), b.astype(np.float32))
                else:
                    r = np.power(a, b.astype(a.dtype, copy=False))
            elif a.dtype.kind in "iu" and b.dtype.kind in "iu" and not (b.dtype.kind == "i" and (b < 0).any()):
                r = np.power(a, b.astype(a.dtype, copy=False))
            elif a.dtype.kind in "iu" or a.dtype.kind == "b":
                r = np.power(a.astype(np.float64), b.astype(np.float64))
            else:  # bfloat16 and other ml_dtypes floats
                r = np.power(a.astype(np.float32), b.astype(np.float32))
        return (np.asarray(r).astype(a.dtype, copy=False),)


@kernel("BitShift")
class BitShift(Kernel):
    """Shifts with C++-defined results for out-of-range amounts.

    Shifting by >= the bit width (or a negative amount) gives 0, except an
    arithmetic right shift of a negative value which gives -1.
    """

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.left = attrs.get("direction", "LEFT").upper() == "LEFT"

    def run(self, x, s):
        bits = x.dtype.itemsize * 8
        signed = x.dtype.kind == "i"
        with np.errstate(all="ignore"):
            bad = (s < 0) | (s >= bits) if s.dtype.kind == "i" else (s >= bits)
            s_ok = np.where(bad, 0, s).astype(x.dtype, copy=False)
            if self.left:
                if signed:  # shift the two's complement bits, no overflow trap
                    u = np.dtype(f"u{x.dtype.itemsize}")
                    r = np.left_shift(x.view(u), s_ok.astype(u, copy=False)).view(x.dtype)
                else:
                    r = np.left_shift(x, s_ok)
            else:
                r = np.right_shift(x, s_ok)
            if bad.any():
                fill = np.where(x < 0, -1, 0).astype(x.dtype) if signed and not self.left else 0
                r = np.where(bad, fill, r).astype(x.dtype, copy=False)
        return (np.asarray(r),)
