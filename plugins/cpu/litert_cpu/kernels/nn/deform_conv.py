"""DeformConv (2-D): bilinear im2col at offset sampling points (zero outside
the image, scaled by the optional mask), then one batched GEMM per group."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype, spatial_attrs


@kernel("DeformConv")
class DeformConv(Kernel):
    def run(self, x, w, offset, b=None, mask=None):
        cdt = compute_dtype(x.dtype)
        n, c, ih, iw = x.shape
        m = w.shape[0]
        g = int(self.attrs.get("group", 1))
        og = int(self.attrs.get("offset_group", 1))
        kh, kw = list(self.attrs.get("kernel_shape") or w.shape[2:])
        (sh, sw), (dh, dw), pads = spatial_attrs(self.attrs, 2)
        oh, ow = offset.shape[2:]
        k = kh * kw
        p = oh * ow
        off = offset.astype(np.float64).reshape(n, og, kh, kw, 2, oh, ow)
        base_h = (np.arange(oh) * sh - pads[0])[None, :, None] + (np.arange(kh) * dh)[:, None, None]  # (kh, oh, 1)
        base_w = (np.arange(ow) * sw - pads[1])[None, None, :] + (np.arange(kw) * dw)[:, None, None]  # (kw, 1, ow)
        hpos = base_h[None, None, :, None] + off[:, :, :, :, 0]  # (n, og, kh, kw, oh, ow)
        wpos = base_w[None, None, None, :] + off[:, :, :, :, 1]
        hpos = hpos.reshape(n, og, k, p)
        wpos = wpos.reshape(n, og, k, p)
        h0 = np.floor(hpos)
        w0 = np.floor(wpos)
        fh = hpos - h0
        fw = wpos - w0
        h0 = h0.astype(np.int64)
        w0 = w0.astype(np.int64)
        xr = x.astype(cdt, copy=False).reshape(n, og, c // og, ih * iw)
        ni = np.arange(n)[:, None, None, None]
        gi = np.arange(og)[None, :, None, None]
        cols = np.zeros((n, og, k, p, c // og), cdt)
        for dy, wy in ((0, 1 - fh), (1, fh)):
            for dx, wx in ((0, 1 - fw), (1, fw)):
                hh = h0 + dy
                ww = w0 + dx
                ok = (hh >= 0) & (hh < ih) & (ww >= 0) & (ww < iw)
                flat = np.where(ok, hh * iw + ww, 0)
                wt = np.where(ok, wy * wx, 0.0)
                vals = xr[ni, gi, :, flat]  # (n, og, k, p, c/og)
                cols += vals * wt[..., None].astype(cdt)
        if mask is not None:
            cols *= mask.astype(cdt).reshape(n, og, k, p)[..., None]
        cols = cols.transpose(0, 1, 4, 2, 3).reshape(n, g, (c // g) * k, p)
        y = np.matmul(w.astype(cdt, copy=False).reshape(g, m // g, -1), cols).reshape(n, m, oh, ow)
        if b is not None:
            y += b.astype(cdt).reshape(1, -1, 1, 1)
        return (y.astype(x.dtype, copy=False),)
