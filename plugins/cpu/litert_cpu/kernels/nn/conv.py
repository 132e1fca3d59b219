"""Conv (any rank, groups, dilations, strides, pads, auto_pad) and
com.microsoft FusedConv.

Weights are packed once as ``(G, M/G, C/G * prod(kernel))`` so that every path
ends in a single (batched) ``np.matmul`` whose result is already laid out as
``(N, M, *out)``:

* 1x1 without pads: the (strided) input itself is the GEMM operand;
* depthwise (one input channel per group): a loop over the kernel taps on the
  flattened padded image (polyphase-split when strided), each tap one
  multiply-add of a contiguous shifted slice by a per-channel weight;
* otherwise im2col: a strided window view copied into a reused buffer (in
  blocks of output rows when large), then the GEMM.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import SCRATCH, activation, compute_dtype, pad_into, prod, spatial_attrs, window_geometry, windows


#: im2col column matrices larger than this are built and multiplied in blocks
_COLS_BYTES = 2 << 20


class ConvCore:
    """The convolution itself, shared by Conv, FusedConv, ConvInteger and
    QLinearConv.  ``w_const`` (if known at compile time) is packed once."""

    def __init__(self, attrs: dict, w_const: np.ndarray | None, dtype=None):
        self.group = int(attrs.get("group", 1))
        self.auto_pad = attrs.get("auto_pad", "NOTSET")
        self.kernel_shape = attrs.get("kernel_shape")
        self.attrs = attrs
        self.scratch = SCRATCH
        self._plans: dict = {}
        self._packed = None
        if w_const is not None:
            cdt = compute_dtype(w_const.dtype) if dtype is None else np.dtype(dtype)
            self._packed = self.pack(w_const, cdt)

    def pack(self, w: np.ndarray, cdt) -> np.ndarray:
        g = self.group
        m = w.shape[0]
        return np.ascontiguousarray(w.reshape(g, m // g, -1), dtype=cdt)

    def plan(self, x_shape, w_shape):
        key = (x_shape, w_shape)
        p = self._plans.get(key)
        if p is None:
            nd = len(x_shape) - 2
            kernel = list(self.kernel_shape or w_shape[2:])
            strides, dilations, pads = spatial_attrs(self.attrs, nd)
            out, pb, pe = window_geometry(x_shape[2:], kernel, strides, dilations, pads, self.auto_pad)
            p = (kernel, strides, dilations, out, pb, pe)
            self._plans[key] = p
        return p

    def __call__(self, x: np.ndarray, w: np.ndarray, cdt, zero=0) -> np.ndarray:
        """Convolution in dtype ``cdt``; returns ``(N, M, *out)``.

        ``zero`` is the value padding stands for (an input zero point)."""
        kernel, strides, dilations, out, pb, pe = self.plan(x.shape, w.shape)
        wp = self._packed if self._packed is not None else self.pack(w, cdt)
        g, mg, kk = wp.shape
        n, c = x.shape[:2]
        cg = c // g
        if x.dtype != cdt:
            x = x.astype(cdt)
        nd = len(kernel)
        p = prod(out)
        if all(k == 1 for k in kernel) and not any(pb) and not any(pe):
            if any(s != 1 for s in strides):
                x = x[(slice(None), slice(None)) + tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(out, strides))]
            cols = np.ascontiguousarray(x).reshape(n, g, cg, p)
            y = np.matmul(wp, cols)
        elif cg == 1 and g > 1:
            return self._depthwise_flat(x, wp, kernel, strides, dilations, out, pb, pe, zero)
        else:
            xp = pad_into(self.scratch, x, pb, pe, zero)
            y = self._im2col_gemm(xp, wp, kernel, strides, dilations, out, cdt)
        return y.reshape((n, g * mg) + tuple(out))

    def _im2col_gemm(self, xp, wp, kernel, strides, dilations, out, cdt):
        """im2col into a reused buffer, then one batched GEMM.  A huge column
        matrix is built and multiplied in blocks of output rows (first
        spatial axis) so that the buffer stays cache- and memory-friendly."""
        n, c = xp.shape[:2]
        g, mg, kk = wp.shape
        nd = len(kernel)
        win = windows(xp, out, kernel, strides, dilations)  # (N, C, *out, *k)
        perm = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
        win = win.transpose(perm)  # (N, C, *k, *out)
        row = prod(out[1:])
        per_row = n * c * prod(kernel) * row * cdt.itemsize
        # blocks of at least ~512 output positions keep the GEMMs efficient
        rows = max(1, -(-512 // max(row, 1)), _COLS_BYTES // max(per_row, 1))
        if rows >= out[0]:
            buf, _ = self.scratch.get("cols", (n, c) + tuple(kernel) + tuple(out), cdt)
            np.copyto(buf, win)
            return np.matmul(wp, buf.reshape(n, g, kk, prod(out)))
        y = np.empty((n, g, mg, out[0] * row), cdt)
        lead = (slice(None),) * (2 + nd)
        for r0 in range(0, out[0], rows):
            r1 = min(out[0], r0 + rows)
            buf, _ = self.scratch.get("cols", (n, c) + tuple(kernel) + (r1 - r0,) + tuple(out[1:]), cdt)
            np.copyto(buf, win[lead + (slice(r0, r1),)])
            y[..., r0 * row:r1 * row] = np.matmul(wp, buf.reshape(n, g, kk, (r1 - r0) * row))
        return y

    def _depthwise_plan(self, x_shape, kernel, strides, dilations, out, pb, pe):
        """Geometry of the flattened depthwise conv, cached per input shape:
        phase-image sizes, extra end padding, and (phase, offset) per tap."""
        key = ("dw", x_shape, tuple(kernel))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        nd = len(kernel)
        full = [x_shape[2 + i] + pb[i] + pe[i] for i in range(nd)]
        q = [-(-full[i] // strides[i]) for i in range(nd)]
        sizes = [prod(q[i + 1:]) for i in range(nd)]
        reach = [(kernel[i] - 1) * dilations[i] // strides[i] for i in range(nd)]
        slack = sum(reach[i] * sizes[i] for i in range(1, nd))
        extra = -(-slack // sizes[0]) if nd > 1 else 0
        taps = []
        for tap in np.ndindex(*kernel):
            pos = [tap[j] * dilations[j] for j in range(nd)]
            phase = int(np.ravel_multi_index([p % s for p, s in zip(pos, strides)], strides))
            taps.append((phase, sum((pos[j] // strides[j]) * sizes[j] for j in range(nd))))
        crop = (Ellipsis,) + tuple(slice(0, o) for o in out[1:])
        plan = (full, q, extra, taps, out[0] * sizes[0], crop)
        self._plans[key] = plan
        return plan

    def _depthwise_flat(self, x, wp, kernel, strides, dilations, out, pb, pe, zero):
        """Depthwise conv on flattened images: every tap is then one contiguous
        shifted slice of length ``out[0] * row``, so each multiply-add runs over
        long rows.  Columns past the output width are computed, then cropped.

        Strided convs are first split into ``prod(strides)`` phase images
        (polyphase), in which every tap is again a stride-1 shift."""
        n, g = x.shape[:2]
        mg = wp.shape[1]
        nd = len(kernel)
        full, q, extra, taps, length, crop = self._depthwise_plan(x.shape, kernel, strides, dilations, out, pb, pe)
        if all(s == 1 for s in strides):
            xp = pad_into(self.scratch, x, pb, [pe[0] + extra] + list(pe[1:]), zero, key="dwpad")
            ph = xp.reshape(n, g, 1, 1, -1)
        else:
            xp = pad_into(self.scratch, x, pb, pe, zero)
            nph = prod(strides)
            # keyed by the padded extent too: unwritten phase cells stay `zero`
            ph, _ = self.scratch.get(("phases", tuple(full)), (n, g, nph, q[0] + extra) + tuple(q[1:]), wp.dtype, zero)
            for p, phase in enumerate(np.ndindex(*strides)):
                src = xp[(Ellipsis,) + tuple(slice(phase[i], None, strides[i]) for i in range(nd))]
                ph[(slice(None), slice(None), p) + tuple(slice(0, src.shape[2 + i]) for i in range(nd))] = src
            ph = ph.reshape(n, g, 1, nph, -1)
        acc = np.empty((n, g, mg, length), wp.dtype)
        tmp = np.empty_like(acc) if len(taps) > 1 else None
        for i, (phase, off) in enumerate(taps):
            src = ph[:, :, :, phase, off:off + length]
            wt = wp[:, :, i, None]
            if i == 0:
                np.multiply(src, wt, out=acc)
            else:
                np.multiply(src, wt, out=tmp)
                acc += tmp
        y = acc.reshape((n, g * mg, out[0]) + tuple(q[1:]))
        if nd > 1:
            y = np.ascontiguousarray(y[crop])
        return y


def _bias_view(b: np.ndarray, nd: int) -> np.ndarray:
    return b.reshape((1, -1) + (1,) * nd)


@kernel("Conv")
class Conv(Kernel):
    act_name: str | None = None
    act_params: tuple = ()

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.core = ConvCore(attrs, ctx.const(1))
        b = ctx.const(2)
        self._bias = None if b is None else b.astype(compute_dtype(b.dtype))
        self.act = activation(self.act_name, self.act_params)

    def run(self, x, w, b=None, z=None):
        cdt = compute_dtype(x.dtype)
        y = self.core(x, w, cdt)
        nd = y.ndim - 2
        bias = self._bias if self._bias is not None else b
        if bias is not None:
            y += _bias_view(bias.astype(cdt, copy=False), nd)
        if z is not None:
            y += z
        if self.act is not None:
            self.act(y)
        return (y.astype(x.dtype, copy=False),)


@kernel("FusedConv", domain="com.microsoft")
class FusedConv(Conv):
    """Conv + optional residual ``Z`` + activation, as emitted by onnxruntime's
    (and litert's) fusion passes."""

    def __init__(self, attrs, ctx):
        self.act_name = attrs.get("activation") or None
        self.act_params = tuple(attrs.get("activation_params") or ())
        super().__init__(attrs, ctx)
