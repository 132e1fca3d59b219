"""Resize (opset 19 semantics; the ONNX frontend upgrades Resize-10/11/13 and Upsample).

Resizing is separable: each resized axis is handled on its own by a small
table of source indices ``(out, n)`` and weights ``(out, n)``; the data pass is
then ``n`` gathers (``np.take``) with a weighted sum.  Nearest mode is a single
gather per axis.  The tables depend only on shapes and attributes, so they are
cached per input shape.
"""
from __future__ import annotations

import math

import numpy as np

from litert.limits import check_shape

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


def source_coords(mode: str, out_size: int, in_size: int, scale: float, roi=None) -> np.ndarray:
    """Source coordinate of every output index along one axis."""
    y = np.arange(out_size, dtype=np.float64)
    length = scale * in_size
    if mode == "align_corners":
        return np.zeros(out_size) if length == 1 else y * (in_size - 1) / (length - 1)
    if mode == "asymmetric":
        return y / scale
    if mode == "tf_crop_and_resize":
        r0, r1 = roi
        if length == 1:
            x = np.full(out_size, (r1 - r0) * (in_size - 1) / 2)
        else:
            x = y * (r1 - r0) * (in_size - 1) / (length - 1)
        return x + r0 * (in_size - 1)
    if mode == "pytorch_half_pixel":
        return np.full(out_size, -0.5) if length == 1 else (y + 0.5) / scale - 0.5
    if mode == "half_pixel":
        return (y + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = out_size / length
        offset = in_size / 2 * (1 - adjustment)
        return offset + (y + 0.5) / scale - 0.5
    raise ValueError(f"Resize: unknown coordinate_transformation_mode {mode!r}")


def nearest_index(x: np.ndarray, mode: str, scale: float) -> np.ndarray:
    if mode == "round_prefer_floor":
        i = np.ceil(x - 0.5)
    elif mode == "round_prefer_ceil":
        i = np.floor(x + 0.5)
    elif mode == "floor":
        i = np.floor(x)
    elif mode == "ceil":
        i = np.ceil(x)
    elif mode == "simple":  # Upsample / Resize-10: truncate, ceil when shrinking
        i = np.ceil(x) if scale < 1 else np.trunc(x)
    else:
        raise ValueError(f"Resize: unknown nearest_mode {mode!r}")
    return i.astype(np.int64)


def _cubic_kernel(d: np.ndarray, a: float) -> np.ndarray:
    d = np.abs(d)
    d2, d3 = d * d, d * d * d
    near = (a + 2) * d3 - (a + 3) * d2 + 1
    far = a * d3 - 5 * a * d2 + 8 * a * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def interp_table(x: np.ndarray, mode: str, scale: float, antialias: bool, cubic_a: float):
    """(indices, weights) of the linear/cubic filter taps for coordinates ``x``.

    Taps are ``p + start .. p + start + n - 1`` with ``p = floor(x)`` and
    fraction ``r`` in ``(0, 1]`` (an exact integer ``x`` is taken as
    ``p = x - 1, r = 1``, as the ONNX reference does)."""
    p = np.floor(x)
    exact = p == x
    p = np.where(exact, p - 1, p)
    r = x - p
    s = min(scale, 1.0) if antialias else 1.0
    support = 1.0 if mode == "linear" else 2.0
    start = int(math.floor(-support / s) + 1)
    n = 2 - 2 * start if mode == "linear" or antialias else 4
    if mode == "cubic" and not antialias:
        start = -1
    offs = np.arange(start, start + n, dtype=np.float64)
    d = (offs[None, :] - r[:, None]) * s
    if mode == "linear":
        w = np.clip(1 - np.abs(d), 0, 1)
    else:
        w = _cubic_kernel(d, cubic_a)
    if antialias:
        w = w / w.sum(axis=1, keepdims=True)
    idx = p.astype(np.int64)[:, None] + offs.astype(np.int64)[None, :]
    return idx, w


#: source axes up to this length are interpolated with a dense matrix product
_DENSE_MAX = 192


class _AxisPlan:
    __slots__ = ("axis", "idx", "w", "extrap", "fill", "dense")

    def __init__(self, axis, idx, w, extrap, fill=None, n_in=0):
        self.axis, self.idx, self.w, self.extrap, self.fill = axis, idx, w, extrap, fill
        self.dense = None
        if w is not None and 0 < n_in <= _DENSE_MAX:
            dense = np.zeros((idx.shape[0], n_in))
            np.add.at(dense, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.reshape(-1)), w.reshape(-1))
            self.dense = dense


class ResizeCore:
    def __init__(self, attrs: dict):
        self.mode = attrs.get("mode", "nearest")
        self.coord = attrs.get("coordinate_transformation_mode", "half_pixel")
        self.nearest_mode = attrs.get("nearest_mode", "round_prefer_floor")
        self.cubic_a = float(attrs.get("cubic_coeff_a", -0.75))
        self.exclude_outside = bool(attrs.get("exclude_outside", 0))
        self.extrapolation = float(attrs.get("extrapolation_value", 0.0))
        self.antialias = bool(attrs.get("antialias", 0)) and self.mode != "nearest"
        self.policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        self.axes = attrs.get("axes")
        self._plans: dict = {}

    def _geometry(self, shape, roi, scales, sizes):
        r = len(shape)
        axes = [a + r if a < 0 else a for a in (self.axes if self.axes is not None else range(r))]
        full_scales = [1.0] * r
        out = list(shape)
        full_roi = [0.0] * r + [1.0] * r
        if roi is not None and len(roi):
            # roi values stay numpy scalars of the roi dtype: the crop
            # coordinates then round like the reference's float32 arithmetic
            roi = np.asarray(roi)
            na = len(axes)
            if len(roi) == 2 * r and na != r:
                full_roi = list(roi)
            else:
                for i, a in enumerate(axes):
                    full_roi[a] = roi[i]
                    full_roi[r + a] = roi[na + i]
        if sizes is not None:
            sz = [int(v) for v in sizes]
            if len(sz) == r and len(axes) != r:
                sz = [sz[a] for a in axes]
            for i, a in enumerate(axes):
                full_scales[a] = sz[i] / shape[a]
                out[a] = sz[i]
            if self.policy != "stretch":
                pick = min if self.policy == "not_larger" else max
                s = pick(full_scales[a] for a in axes)
                for a in axes:
                    full_scales[a] = s
                    out[a] = int(s * shape[a] + 0.5)
        else:
            sc = [float(v) for v in scales]
            if len(sc) == r and len(axes) != r:
                sc = [sc[a] for a in axes]
            for i, a in enumerate(axes):
                full_scales[a] = sc[i]
                out[a] = int(math.floor(shape[a] * sc[i] + 1e-9)) if sc[i] != 1 else shape[a]
        return axes, full_scales, out, full_roi

    def plan(self, shape, roi, scales, sizes):
        key = (shape, None if roi is None else tuple(np.asarray(roi).tolist()),
               None if scales is None else tuple(np.asarray(scales).tolist()),
               None if sizes is None else tuple(np.asarray(sizes).tolist()))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        axes, scales_, out, roi_ = self._geometry(shape, roi, scales, sizes)
        check_shape(out, 4, "Resize output")
        r = len(shape)
        plan = []
        for a in axes:
            n_in, n_out, s = shape[a], out[a], scales_[a]
            if n_out == n_in and s == 1.0 and roi_[a] == 0.0 and roi_[r + a] == 1.0 and self.coord != "tf_crop_and_resize":
                continue
            x = source_coords(self.coord, n_out, n_in, s, (roi_[a], roi_[r + a]))
            extrap = None
            if self.coord == "tf_crop_and_resize":
                extrap = (x < 0) | (x > n_in - 1)
                if not extrap.any():
                    extrap = None
            if self.mode == "nearest":
                idx = nearest_index(x, self.nearest_mode, s)
                if self.exclude_outside:  # an excluded pick leaves no weight: 0
                    out_of_range = (idx < 0) | (idx >= n_in)
                    if out_of_range.any():
                        extrap = out_of_range if extrap is None else extrap | out_of_range
                        plan.append(_AxisPlan(a, np.clip(idx, 0, n_in - 1), None, extrap, 0.0))
                        continue
                plan.append(_AxisPlan(a, np.clip(idx, 0, n_in - 1), None, extrap))
                continue
            idx, w = interp_table(x, self.mode, s, self.antialias, self.cubic_a)
            if self.exclude_outside:
                w = np.where((idx < 0) | (idx >= n_in), 0.0, w)
                tot = w.sum(axis=1, keepdims=True)
                w = w / np.where(tot == 0, 1.0, tot)
            plan.append(_AxisPlan(a, np.clip(idx, 0, n_in - 1), w, extrap, n_in=n_in))
        self._plans[key] = plan
        return plan

    def __call__(self, x, roi=None, scales=None, sizes=None):
        plan = self.plan(x.shape, roi, scales, sizes)
        if self.mode == "nearest" and all(p.extrap is None for p in plan):
            return self._nearest(x, plan)
        cdt = compute_dtype(x.dtype) if x.dtype.kind == "f" or compute_dtype(x.dtype) != x.dtype else np.dtype(np.float32)
        y = x.astype(cdt, copy=False)
        for p in plan:
            bshape = [1] * y.ndim
            bshape[p.axis] = -1
            if p.w is None:
                y = np.take(y, p.idx, axis=p.axis)
            elif p.dense is not None and p.axis >= y.ndim - 2:
                # small source axis: one BLAS product with the dense (out, in)
                # interpolation matrix beats n gathers
                a = p.dense.astype(cdt)
                y = np.matmul(y, a.T) if p.axis == y.ndim - 1 else np.matmul(a, y)
            else:
                acc = None
                for j in range(p.idx.shape[1]):
                    wj = p.w[:, j].astype(cdt).reshape(bshape)
                    term = np.take(y, p.idx[:, j], axis=p.axis)
                    term *= wj
                    if acc is None:
                        acc = term
                    else:
                        acc += term
                y = acc
            if p.extrap is not None:
                fill = self.extrapolation if p.fill is None else p.fill
                y = np.where(p.extrap.reshape(bshape), cdt.type(fill), y)
        if x.dtype.kind in "iu":
            info = np.iinfo(x.dtype)
            y = np.clip(np.rint(y), info.min, info.max)
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def _nearest(x, plan):
        """One fancy-indexing gather over all resized axes."""
        if not plan:
            return x.copy()
        if len(plan) == 1:
            return np.take(x, plan[0].idx, axis=plan[0].axis)
        index = [slice(None)] * x.ndim
        k = len(plan)
        for i, p in enumerate(plan):
            shape = [1] * k
            shape[i] = -1
            index[p.axis] = p.idx.reshape(shape)
        axes = [p.axis for p in plan]
        if axes == list(range(axes[0], axes[0] + k)):
            return x[tuple(index)]
        y = x
        for p in plan:
            y = np.take(y, p.idx, axis=p.axis)
        return y


def _nonempty(v):
    return None if v is None or np.asarray(v).size == 0 else v


@kernel("Resize")
class Resize(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.core = ResizeCore(attrs)

    def run(self, x, roi=None, scales=None, sizes=None):
        return (self.core(x, _nonempty(roi), _nonempty(scales), _nonempty(sizes)),)
