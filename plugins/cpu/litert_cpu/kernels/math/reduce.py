"""The Reduce* family.

``axes`` comes as the optional second input (opset 18; the ONNX frontend
turns the older attribute into it).  Empty/absent axes reduce everything unless
``noop_with_empty_axes`` is set, in which case the reduction runs over *no*
axis: the elementwise part of the op is still applied (ReduceSumSquare gives
x**2, ReduceL1 |x|), which is what onnxruntime and the ONNX reference do.
Reductions over an empty set give the identity element (0, 1, -inf, +inf,
dtype min/max).  float16/bfloat16 accumulate in float32.

Fast paths (float32/float64, reduced axes consecutive in a C-contiguous
array, viewed as ``(pre, red, post)``), measured against plain numpy:

* sums use ``einsum`` (2-5x faster than ``np.add.reduce``; sum of squares as
  ``einsum('ijk,ijk->ik')`` without the squared temporary);
* max/min fold over the columns when ``post == 1`` and ``red`` is small, and
  halve the reduced axis pairwise when ``post`` is small: numpy's own
  reduction loop is 5-20x slower for those short inner loops.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import axes_tuple

_FAST = (np.dtype(np.float32), np.dtype(np.float64))


def _grouped(x: np.ndarray, axes) -> np.ndarray | None:
    """``x`` viewed as (pre, red, post) when the reduced axes are consecutive, else None."""
    if x.dtype not in _FAST or x.size == 0 or not x.flags.c_contiguous:
        return None
    if axes is None:
        axes = tuple(range(x.ndim))
    if not axes or axes[-1] - axes[0] != len(axes) - 1:
        return None
    shape = x.shape
    pre = int(np.prod(shape[: axes[0]]))
    red = int(np.prod(shape[axes[0]: axes[-1] + 1]))
    return x.reshape(pre, red, -1)


def _out_shape(x: np.ndarray, axes, keepdims: bool) -> tuple[int, ...]:
    axes = range(x.ndim) if axes is None else axes
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _acc_dtype(x: np.ndarray) -> np.dtype:
    """Accumulation dtype: float32 for half types, else the input's own dtype."""
    if x.dtype.kind in "iub" or (x.dtype.kind == "f" and x.dtype.itemsize >= 4):
        return x.dtype
    return np.dtype(np.float32)


def _sum(x, axes, keepdims):
    g = _grouped(x, axes)
    if g is not None:
        return np.einsum("ijk->ik", g).reshape(_out_shape(x, axes, keepdims))
    return np.sum(x, axis=axes, keepdims=keepdims, dtype=_acc_dtype(x))


def _sum_square(x, axes, keepdims):
    g = _grouped(x, axes)
    if g is not None:
        return np.einsum("ijk,ijk->ik", g, g).reshape(_out_shape(x, axes, keepdims))
    if x.dtype.kind not in "iu":
        x = x.astype(_acc_dtype(x), copy=False)
    return np.sum(np.square(x), axis=axes, keepdims=keepdims, dtype=_acc_dtype(x))


def _halve(ufunc, m: np.ndarray) -> np.ndarray:
    """Reduce axis 1 of a 3-D array by pairwise halving (contiguous inner blocks)."""
    while m.shape[1] > 1:
        k = m.shape[1]
        h = k // 2
        nm = ufunc(m[:, :h], m[:, h:2 * h])
        if k % 2:
            ufunc(nm[:, :1], m[:, 2 * h:], out=nm[:, :1])
        m = nm
    return m[:, 0]


def _extreme(ufunc, x, axes, keepdims, empty_value):
    if x.size == 0:
        return ufunc.reduce(x, axis=axes, keepdims=keepdims, initial=empty_value)
    g = _grouped(x, axes)
    if g is not None:
        pre, red, post = g.shape
        if post == 1 and red <= 32:
            m = g[:, 0, 0].copy()
            for j in range(1, red):
                ufunc(m, g[:, j, 0], out=m)
            return m.reshape(_out_shape(x, axes, keepdims))
        if 1 < post < 128 and red > 1:
            return _halve(ufunc, g).reshape(_out_shape(x, axes, keepdims))
    return ufunc.reduce(x, axis=axes, keepdims=keepdims)


def _lowest(dtype):
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def _highest(dtype):
    if dtype.kind == "b":
        return True
    return np.iinfo(dtype).max if dtype.kind in "iu" else np.inf


def reduce_sum(x, axes, keepdims):
    return _sum(x, axes, keepdims)


def reduce_mean(x, axes, keepdims):
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    s = np.asarray(_sum(x, axes, keepdims))
    # In place, truncating for ints like numpy's mean; 0/0 gives NaN for floats.
    return np.divide(s, count, out=s, casting="unsafe")


def reduce_prod(x, axes, keepdims):
    return np.prod(x, axis=axes, keepdims=keepdims, dtype=_acc_dtype(x))


def reduce_max(x, axes, keepdims):
    return _extreme(np.maximum, x, axes, keepdims, _lowest(x.dtype))


def reduce_min(x, axes, keepdims):
    return _extreme(np.minimum, x, axes, keepdims, _highest(x.dtype))


def reduce_l1(x, axes, keepdims):
    return _sum(np.abs(x), axes, keepdims)


def reduce_sum_square(x, axes, keepdims):
    return _sum_square(x, axes, keepdims)


def reduce_l2(x, axes, keepdims):
    return np.sqrt(_sum_square(x, axes, keepdims))


def reduce_log_sum(x, axes, keepdims):
    return np.log(_sum(x, axes, keepdims))


def reduce_log_sum_exp(x, axes, keepdims):
    if x.dtype not in _FAST:
        x = x.astype(np.float64 if x.dtype.kind in "iu" else np.float32)
    m = np.asarray(_extreme(np.maximum, x, axes, True, -np.inf))
    m[~np.isfinite(m)] = 0  # all -inf (or empty) slices: keep exp() finite
    e = np.subtract(x, m)
    np.exp(e, out=e)
    s = np.asarray(_sum(e, axes, True))
    np.log(s, out=s)
    s += m
    return s.reshape(_out_shape(x, axes, keepdims))


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
        if axes is None or np.size(axes) == 0:
            ax = () if self.noop else None
        else:
            ax = axes_tuple(axes, x.ndim)
        with np.errstate(all="ignore"):
            r = np.asarray(self.fn(x, ax, self.keepdims))
        return (r.astype(x.dtype, copy=False),)


for _name, _fn in REDUCTIONS.items():
    kernel(_name)(type(_name, (Reduce,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}."}))
