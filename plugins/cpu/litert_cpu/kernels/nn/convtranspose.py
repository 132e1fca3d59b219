"""ConvTranspose: one GEMM ``W^T @ X`` per group giving every (tap, input
position) contribution, then a col2im scatter-add over the kernel taps."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype, scatter_add_taps, spatial_attrs


def transpose_geometry(attrs, in_shape, kernel_shape):
    """(output spatial shape, begin pads) of a ConvTranspose; pads may be
    negative when ``output_shape`` asks for more than the full result."""
    nd = len(in_shape)
    strides, dilations, pads = spatial_attrs(attrs, nd)
    out_pad = list(attrs.get("output_padding") or [0] * nd)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    output_shape = attrs.get("output_shape")
    full = [strides[i] * (in_shape[i] - 1) + out_pad[i] + (kernel_shape[i] - 1) * dilations[i] + 1 for i in range(nd)]
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = list(output_shape)[-nd:] if output_shape is not None else [in_shape[i] * strides[i] for i in range(nd)]
        pb = []
        for i in range(nd):
            total = full[i] - out[i]
            pb.append(total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
        return out, pb, strides, dilations
    if auto_pad == "VALID":
        pads = [0] * (2 * nd)
    out = [full[i] - pads[i] - pads[i + nd] for i in range(nd)]
    return out, pads[:nd], strides, dilations


@kernel("ConvTranspose")
class ConvTranspose(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.group = int(attrs.get("group", 1))
        w = ctx.const(1)
        self._wt = None if w is None else self._pack(w, compute_dtype(w.dtype))

    def _pack(self, w, cdt):
        """(G, M/G * K, C/G): the transposed per-group weight matrix."""
        c = w.shape[0]
        g = self.group
        return np.ascontiguousarray(w.reshape(g, c // g, -1).transpose(0, 2, 1), dtype=cdt)

    def run(self, x, w, b=None):
        cdt = compute_dtype(x.dtype)
        n, c = x.shape[:2]
        nd = x.ndim - 2
        kernel_shape = list(self.attrs.get("kernel_shape") or w.shape[2:])
        g = self.group
        m = w.shape[1] * g
        out, pb, strides, dilations = transpose_geometry(self.attrs, x.shape[2:], kernel_shape)
        wt = self._wt if self._wt is not None else self._pack(w, cdt)
        xs = x.astype(cdt, copy=False).reshape(n, g, c // g, -1)
        cols = np.matmul(wt, xs).reshape((n, m) + tuple(kernel_shape) + x.shape[2:])
        full = [strides[i] * (x.shape[2 + i] - 1) + (kernel_shape[i] - 1) * dilations[i] + 1 for i in range(nd)]
        lo = [min(0, pb[i]) for i in range(nd)]
        size = [max(full[i], pb[i] + out[i]) - lo[i] for i in range(nd)]
        buf = np.zeros((n, m) + tuple(size), cdt)
        scatter_add_taps(cols, buf, kernel_shape, strides, dilations, [-v for v in lo])
        y = buf[(Ellipsis,) + tuple(slice(pb[i] - lo[i], pb[i] - lo[i] + out[i]) for i in range(nd))]
        if b is not None:
            y = y + b.astype(cdt).reshape((1, -1) + (1,) * nd)
        return (np.ascontiguousarray(y).astype(x.dtype, copy=False),)
