"""The Reduce* family.

``axes`` comes as the optional second input (or, for old opsets, an
attribute).  Empty/absent axes reduce everything unless
``noop_with_empty_axes`` is set, in which case the reduction runs over *no*
axis: the elementwise part of the op is still applied (ReduceSumSquare gives
x**2, ReduceL1 |x|), which is what onnxruntime and the ONNX reference do.
Reductions over an empty set give the identity element (0, 1, -inf, +inf,
dtype min/max).  float16/bfloat16 accumulate in float32.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import axes_tuple


def _acc_dtype(x: np.ndarray) -> np.dtype:
    """Accumulation dtype: float32 for half types, else the input's own dtype."""
    if x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        return x.dtype
    if x.dtype.kind in "iub":
        return x.dtype
    return np.dtype(np.float32)


def _sum(x, axes, keepdims):
    return np.sum(x, axis=axes, keepdims=keepdims, dtype=_acc_dtype(x))


def reduce_sum(x, axes, keepdims):
    return _sum(x, axes, keepdims)


def reduce_mean(x, axes, keepdims):
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    s = np.asarray(_sum(x, axes, keepdims))
    # In place, truncating for ints like numpy's mean; 0/0 gives NaN for floats.
    return np.divide(s, count, out=s, casting="unsafe")


def reduce_prod(x, axes, keepdims):
    return np.prod(x, axis=axes, keepdims=keepdims, dtype=_acc_dtype(x))


def _extreme(ufunc, x, axes, keepdims, empty_value):
    if x.size == 0:
        return ufunc.reduce(x, axis=axes, keepdims=keepdims, initial=empty_value)
    return ufunc.reduce(x, axis=axes, keepdims=keepdims)


def _lowest(dtype):
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def _highest(dtype):
    if dtype.kind == "b":
        return True
    return np.iinfo(dtype).max if dtype.kind in "iu" else np.inf


def reduce_max(x, axes, keepdims):
    return _extreme(np.maximum, x, axes, keepdims, _lowest(x.dtype))


def reduce_min(x, axes, keepdims):
    return _extreme(np.minimum, x, axes, keepdims, _highest(x.dtype))


def reduce_l1(x, axes, keepdims):
    return _sum(np.abs(x), axes, keepdims)


def reduce_sum_square(x, axes, keepdims):
    if x.dtype.itemsize < 4 and x.dtype.kind == "f" or x.dtype.kind == "V":
        x = x.astype(np.float32)
    return _sum(np.square(x), axes, keepdims)


def reduce_l2(x, axes, keepdims):
    return np.sqrt(reduce_sum_square(x, axes, keepdims))


def reduce_log_sum(x, axes, keepdims):
    return np.log(_sum(x, axes, keepdims))


def reduce_log_sum_exp(x, axes, keepdims):
    if x.dtype.kind != "f" or x.dtype.itemsize < 4:
        x = x.astype(np.float32 if x.dtype.kind != "i" else np.float64)
    m = _extreme(np.maximum, x, axes, True, -np.inf)
    m[~np.isfinite(m)] = 0
    e = np.subtract(x, m)
    np.exp(e, out=e)
    s = np.sum(e, axis=axes, keepdims=True)
    np.log(s, out=s)
    s += m
    if not keepdims:
        s = s.reshape([d for i, d in enumerate(s.shape) if i not in (axes if axes is not None else range(s.ndim))])
    return s


REDUCTIONS = {
    "ReduceSum": reduce_sum,
    "ReduceMean": reduce_mean,
    "ReduceProd": reduce_prod,
    "ReduceMax": reduce_max,
    "ReduceMin": reduce_min,
    "ReduceL1": reduce_l1,
    "ReduceL2": reduce_l2,
    "ReduceSumSquare": reduce_sum_square,
    "ReduceLogSum": reduce_log_sum,
    "ReduceLogSumExp": reduce_log_sum_exp,
}


class Reduce(Kernel):
    fn = staticmethod(reduce_sum)

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.keepdims = bool(attrs.get("keepdims", 1))
        self.noop = bool(attrs.get("noop_with_empty_axes", 0))

    def run(self, x, axes=None):
        if axes is None:
            axes = self.attrs.get("axes")
        if axes is None or np.size(axes) == 0:
            ax = () if self.noop else None
        else:
            ax = axes_tuple(axes, x.ndim)
        with np.errstate(all="ignore"):
            r = np.asarray(self.fn(x, ax, self.keepdims))
        return (r.astype(x.dtype, copy=False),)


for _name, _fn in REDUCTIONS.items():
    kernel(_name)(type(_name, (Reduce,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}."}))
