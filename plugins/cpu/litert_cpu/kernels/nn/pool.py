"""MaxPool, AveragePool, LpPool, their Global forms, and MaxUnpool.

Windowed pools never loop over outputs: a box window is separable, so each
spatial axis is reduced in turn, one ufunc call per kernel tap on a strided
slice (sum(kernel) passes instead of prod(kernel)).  MaxPool's Indices output
loops over all taps to track the arg-max.  Average divisors are separable too:
an outer product of 1-D window counts.
"""
from __future__ import annotations

import numpy as np

from litert.limits import check_shape

from ...threads import current_threads, parallel_for, split
from .._base import Kernel
from .._registry import kernel
from ._common import SCRATCH, axis_slice, compute_dtype, lowest, pad_into, prod, reaching_taps, spatial_attrs, tap_slices, window_geometry

#: pools reading more elements than this are cut into channel blocks run as tasks
_PARALLEL_ELEMENTS = 1 << 18


class _Pool(Kernel):
    fill_max = False

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.kernel = list(attrs["kernel_shape"])
        self.auto_pad = attrs.get("auto_pad", "NOTSET")
        self.ceil_mode = bool(attrs.get("ceil_mode", 0))
        self.scratch = SCRATCH
        self._plans = {}

    def plan(self, shape):
        """Geometry from the spatial dims (cached; the leading two do not matter):
        ``(out, pb, pe, pe_eff, strides, dilations, taps)`` where ``taps`` is the
        window cut to the taps that can reach the input and ``pb`` its begin
        pad (see ``reaching_taps``); ``pe`` is the declared end pad."""
        key = tuple(shape[2:])
        p = self._plans.get(key)
        if p is None:
            nd = len(shape) - 2
            strides, dilations, pads = spatial_attrs(self.attrs, nd)
            out, pb, pe = window_geometry(shape[2:], self.kernel, strides, dilations, pads, self.auto_pad, self.ceil_mode)
            reaching = [reaching_taps(shape[2 + i], self.kernel[i], strides[i], dilations[i], pb[i], out[i])
                        for i in range(nd)]
            taps = [count for _, count in reaching]
            pb = [pb[i] - reaching[i][0] * dilations[i] for i in range(nd)]
            # the padded extent the windows actually reach (never below an empty axis)
            reach = [max((out[i] - 1) * strides[i] + (taps[i] - 1) * dilations[i] + 1, 0) for i in range(nd)]
            pe_eff = [reach[i] - shape[2 + i] - pb[i] for i in range(nd)]
            p = (out, pb, pe, pe_eff, strides, dilations, taps)
            self._plans[key] = p
        return p

    def padded(self, x, fill):
        out, pb, pe, pe_eff, strides, dilations, taps = self.plan(x.shape)
        if any(pb) or any(pe_eff):  # huge strides or pads from a file: refused before the padded copy is made
            check_shape([*x.shape[:2], *(x.shape[2 + i] + pb[i] + pe_eff[i] for i in range(len(pb)))],
                        x.dtype.itemsize, f"{type(self).__name__}'s padded input")
        return pad_into(self.scratch, x, pb, pe_eff, fill), out, strides, dilations, taps

    def same3(self, shape) -> bool:
        """A 3x3, stride-1, pad-1 window over 2-D images (inception's branch
        pools): reduced on flattened images, see ``reduce_same3``."""
        out, pb, pe, _, strides, dilations, taps = self.plan(shape)
        return (len(out) == 2 and taps == [3, 3] and strides == [1, 1] and dilations == [1, 1]
                and pb == [1, 1] and pe == [1, 1] and list(out) == list(shape[2:]) and min(shape[2:]) >= 2)

    @staticmethod
    def reduce_same3(x, op, dtype, dst) -> None:
        """``dst`` = ``op`` over each 3x3 window of ``x`` (N, C, H, W), padding
        ignored.  numpy pays ~50 ns per inner loop, so a row-by-row pass
        over 14-wide maps spends its time in loop overhead; here the passes
        run over the whole flattened block instead.  Along rows, neighbours
        are flat neighbours, and the wrapped values at the row ends are
        redone (one strided column each side); down columns, neighbours are
        flat shifts by W within each image."""
        n, c, h, w = x.shape
        flat = x.reshape(-1)
        size = flat.size
        row, _ = SCRATCH.get("pool_rows", (size,), dtype)
        op(flat[:-1], flat[1:], out=row[:-1], dtype=dtype)
        row[-1] = flat[-1]
        op(row[1:], flat[:-1], out=row[1:])
        op(flat[0::w], flat[1::w], out=row[0::w], dtype=dtype)
        op(flat[w - 1::w], flat[w - 2::w], out=row[w - 1::w], dtype=dtype)
        rows = row.reshape(n * c, h * w)
        y = dst.reshape(n * c, h * w) if dst.flags.c_contiguous else np.empty((n * c, h * w), dtype)
        op(rows[:, :-w], rows[:, w:], out=y[:, :-w])
        y[:, -w:] = rows[:, -w:]
        op(y[:, w:], rows[:, :-w], out=y[:, w:])
        if not dst.flags.c_contiguous:
            dst[...] = y.reshape(dst.shape)

    def pooled(self, x, fill, op, dtype, transform=None):
        """Pad and reduce every window of ``x`` with ``op``; big inputs are
        cut into channel blocks (images x channels) run as parallel tasks."""
        out = self.plan(x.shape)[0]
        n, c = x.shape[:2]
        threads = current_threads()
        same3 = transform is None and self.same3(x.shape) and x.flags.c_contiguous
        if threads <= 1 or x.size < _PARALLEL_ELEMENTS or n * c < 2:
            if same3:
                y = np.empty((n, c) + tuple(out), dtype)
                self.reduce_same3(x, op, dtype, y)
                return y
            xp, out, strides, dilations, taps = self.padded(x, fill)
            return self.accumulate(xp, out, strides, dilations, taps, op, dtype, transform)
        y = np.empty((n, c) + tuple(out), dtype)
        blocks = [(i, a, b) for i in range(n) for a, b in split(c, -(-threads // n))] if n < threads else \
            [(slice(a, b), 0, c) for a, b in split(n, threads)]

        def task(t: int) -> None:
            ns, c0, c1 = blocks[t]
            xb = x[ns, c0:c1] if isinstance(ns, slice) else x[ns:ns + 1, c0:c1]
            yb = y[ns, c0:c1] if isinstance(ns, slice) else y[ns:ns + 1, c0:c1]
            if same3:
                self.reduce_same3(xb, op, dtype, yb)
                return
            xp, _, strides, dilations, taps = self.padded(xb, fill)
            self.accumulate(xp, out, strides, dilations, taps, op, dtype, transform, dst=yb)

        parallel_for(len(blocks), task)
        return y

    def divisor(self, shape, include_pad: bool, dtype=np.float64) -> np.ndarray:
        """Number of elements each window averages over, shaped like the output
        (cached per spatial shape and dtype)."""
        key = ("div", tuple(shape[2:]), include_pad, np.dtype(dtype))
        cached = self._plans.get(key)
        if cached is None:
            cached = self._plans[key] = self._divisor(shape, include_pad).astype(dtype)
        return cached

    def _divisor(self, shape, include_pad: bool) -> np.ndarray:
        """Per axis, the count of the declared window's taps inside the input
        (or inside input and declared pads), in closed form: O(outputs), however
        long the window."""
        strides, dilations, pads = spatial_attrs(self.attrs, len(shape) - 2)
        out, pb, pe = window_geometry(shape[2:], self.kernel, strides, dilations, pads, self.auto_pad, self.ceil_mode)
        if prod(out) == 0:  # no window: the per-axis counts of a 2^25-long axis next to an empty one cost seconds
            return np.ones(out, np.float64)
        div = np.ones((), np.float64)
        for i in range(len(out)):
            k, s, d, n = self.kernel[i], strides[i], dilations[i], shape[2 + i]
            lo, hi = (0, n + pb[i] + pe[i]) if include_pad else (pb[i], pb[i] + n)
            # taps t < k of the window at padded position o*s with lo <= o*s + t*d < hi
            counts = [max(0, min(k, -((o * s - hi) // d)) - max(0, -((o * s - lo) // d))) for o in range(out[i])]
            div = np.multiply.outer(div, np.array(counts, np.float64))
        return div

    def accumulate(self, xp, out, strides, dilations, taps, op, dtype, transform=None, dst=None):
        """Reduce every window with ``op``, one spatial axis at a time (a box
        window is separable), so the cost is sum(kernel) - nd ufunc passes
        rather than prod(kernel).  The last pass writes into ``dst`` when
        given."""
        if transform is not None:
            xp = transform(xp)
        nd = len(out)
        cur = xp
        for i in reversed(range(nd)):
            k, s, d = taps[i], strides[i], dilations[i]
            lead = (slice(None),) * (cur.ndim - nd + i)
            srcs = [cur[lead + (axis_slice(j * d, out[i], s),)] for j in range(k)]
            target = dst if i == 0 else None
            if k == 1:
                acc = np.array(srcs[0], dtype=dtype) if target is None else target
                if target is not None:
                    np.copyto(target, srcs[0])
            else:
                acc = op(srcs[0], srcs[1], out=target, dtype=dtype)
                for src in srcs[2:]:
                    op(acc, src, out=acc)
            cur = acc
        return cur


@kernel("MaxPool")
class MaxPool(_Pool):
    def run(self, x):
        if self.ctx.num_outputs < 2:
            return (self.pooled(x, lowest(x.dtype), np.maximum, x.dtype),)
        xp, out, strides, dilations, taps = self.padded(x, lowest(x.dtype))
        acc = None
        arg = np.zeros(x.shape[:2] + tuple(out), np.int64)
        for t, (_, sl) in enumerate(tap_slices(out, taps, strides, dilations)):
            src = xp[(Ellipsis,) + sl]
            if acc is None:
                acc = np.array(src)
                continue
            better = src > acc
            np.copyto(acc, src, where=better)
            np.copyto(arg, t, where=better)
        return acc, self._indices(x.shape, arg)

    def _indices(self, shape, arg):
        """Flat input index of each window's argmax (row- or column-major)."""
        out, pb, _, _, strides, dilations, kept = self.plan(shape)
        nd = len(out)
        spatial = shape[2:]
        taps = np.array(list(np.ndindex(*kept)), np.int64).reshape(-1, nd)
        if self.attrs.get("storage_order", 0):
            mult = [prod(spatial[:i]) for i in range(nd)]
        else:
            mult = [prod(spatial[i + 1:]) for i in range(nd)]
        n, c = shape[:2]
        idx = (np.arange(n * c, dtype=np.int64) * prod(spatial)).reshape((n, c) + (1,) * nd)
        idx = idx + np.zeros_like(arg)
        for i in range(nd):
            o = np.arange(out[i]) * strides[i] - pb[i]
            o = o.reshape((1, 1) + tuple(out[i] if j == i else 1 for j in range(nd)))
            idx += (o + taps[arg, i] * dilations[i]) * mult[i]
        return idx


@kernel("AveragePool")
class AveragePool(_Pool):
    def run(self, x):
        cdt = compute_dtype(x.dtype)
        acc = self.pooled(x, 0, np.add, cdt)
        acc /= self.divisor(x.shape, bool(self.attrs.get("count_include_pad", 0)), cdt)
        return (acc.astype(x.dtype, copy=False),)


@kernel("LpPool")
class LpPool(_Pool):
    def run(self, x):
        cdt = compute_dtype(x.dtype)
        p = float(self.attrs.get("p", 2))
        xp, out, strides, dilations, taps = self.padded(x, 0)
        if p == 2:
            tr = np.square
        elif p == 1:
            tr = np.abs
        else:
            tr = lambda v: np.abs(v) ** p  # noqa: E731
        acc = self.accumulate(xp, out, strides, dilations, taps, np.add, cdt, tr)
        if p == 2:
            np.sqrt(acc, out=acc)
        elif p != 1:
            acc **= 1.0 / p
        return (acc.astype(x.dtype, copy=False),)


def _spatial_axes(x):
    return tuple(range(2, x.ndim))


@kernel("GlobalAveragePool")
class GlobalAveragePool(Kernel):
    def run(self, x):
        y = x.mean(axis=_spatial_axes(x), keepdims=True, dtype=compute_dtype(x.dtype))
        return (y.astype(x.dtype, copy=False),)


@kernel("GlobalMaxPool")
class GlobalMaxPool(Kernel):
    def run(self, x):
        return (x.max(axis=_spatial_axes(x), keepdims=True),)


@kernel("GlobalLpPool")
class GlobalLpPool(Kernel):
    def run(self, x):
        p = float(self.attrs.get("p", 2))
        xf = x.astype(compute_dtype(x.dtype), copy=False)
        if p == 2:
            y = np.sqrt(np.square(xf).sum(axis=_spatial_axes(x), keepdims=True))
        else:
            y = (np.abs(xf) ** p).sum(axis=_spatial_axes(x), keepdims=True) ** (1.0 / p)
        return (y.astype(x.dtype, copy=False),)


@kernel("MaxUnpool")
class MaxUnpool(Kernel):
    """Scatter ``X`` to the flat positions ``I`` of a zero tensor of the
    pooled-from shape, then zero-pad to ``output_shape`` if given."""

    def run(self, x, indices, output_shape=None):
        kernel_shape = list(self.attrs["kernel_shape"])
        nd = len(kernel_shape)
        strides, _, pads = spatial_attrs(self.attrs, nd)
        inferred = list(x.shape[:2]) + [
            (x.shape[2 + i] - 1) * strides[i] - pads[i] - pads[i + nd] + kernel_shape[i] for i in range(nd)
        ]
        y = np.zeros(prod(inferred), x.dtype)
        y[indices.reshape(-1)] = x.reshape(-1)
        y = y.reshape(inferred)
        if output_shape is not None:
            shape = [int(v) for v in output_shape]
            if shape != inferred:
                res = np.zeros(shape, x.dtype)
                res[tuple(slice(0, v) for v in inferred)] = y
                y = res
        return (y,)
