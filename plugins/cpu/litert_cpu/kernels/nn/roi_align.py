"""RoiAlign (avg / max), following the onnxruntime / ONNX reference sampling:
each output bin averages (or maxes) ``grid_h x grid_w`` bilinear samples.

One Python iteration per ROI; everything inside (bins, samples, channels) is
vectorised.
"""
from __future__ import annotations

import math

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


def _axis_samples(start, bin_size, pooled, grid, size):
    """Low/high indices and weights of the bilinear samples along one axis,
    shaped ``(pooled, grid)``, plus the out-of-map mask."""
    p = np.arange(pooled)[:, None]
    i = np.arange(grid)[None, :]
    v = start + p * bin_size + (i + 0.5) * bin_size / grid
    outside = (v < -1.0) | (v > size)
    v = np.maximum(v, 0.0)
    low = v.astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    v = np.where(edge, low, v)
    frac = v - low
    return low, high, 1.0 - frac, frac, outside


@kernel("RoiAlign")
class RoiAlign(Kernel):
    def run(self, x, rois, batch_indices):
        a = self.attrs
        mode = a.get("mode", "avg").lower()
        oh, ow = int(a.get("output_height", 1)), int(a.get("output_width", 1))
        ratio = int(a.get("sampling_ratio", 0))
        scale = float(a.get("spatial_scale", 1.0))
        half_pixel = a.get("coordinate_transformation_mode", "half_pixel") == "half_pixel"
        cdt = compute_dtype(x.dtype)
        n, c, h, w = x.shape
        xf = x.astype(cdt, copy=False).reshape(n, c, h * w)
        out = np.empty((rois.shape[0], c, oh, ow), cdt)
        offset = 0.5 if half_pixel else 0.0
        for r in range(rois.shape[0]):
            x0, y0, x1, y1 = (float(v) * scale - offset for v in rois[r, :4])
            rw, rh = x1 - x0, y1 - y0
            if not half_pixel:
                rw, rh = max(rw, 1.0), max(rh, 1.0)
            bh, bw = rh / oh, rw / ow
            gh = ratio if ratio > 0 else int(math.ceil(rh / oh))
            gw = ratio if ratio > 0 else int(math.ceil(rw / ow))
            if gh <= 0 or gw <= 0:
                out[r] = 0
                continue
            yl, yh, wy0, wy1, oy = _axis_samples(y0, bh, oh, gh, h)
            xl, xh, wx0, wx1, ox = _axis_samples(x0, bw, ow, gw, w)
            # broadcast to (oh, gh, ow, gw)
            yl, yh, wy0, wy1, oy = (v[:, :, None, None] for v in (yl, yh, wy0, wy1, oy))
            xl, xh, wx0, wx1, ox = (v[None, None, :, :] for v in (xl, xh, wx0, wx1, ox))
            keep = ~(oy | ox)
            img = xf[int(batch_indices[r])]
            corners = (
                (yl * w + xl, wy0 * wx0),
                (yl * w + xh, wy0 * wx1),
                (yh * w + xl, wy1 * wx0),
                (yh * w + xh, wy1 * wx1),
            )
            vals = []
            for pos, wt in corners:
                wt = np.where(keep, wt, 0.0).astype(cdt)
                pos = np.where(keep, pos, 0)
                vals.append(img[:, pos] * wt)  # (c, oh, gh, ow, gw)
            if mode == "avg":
                s = vals[0] + vals[1] + vals[2] + vals[3]
                out[r] = s.sum(axis=(2, 4)) / max(gh * gw, 1)
            else:
                m = np.maximum(np.maximum(vals[0], vals[1]), np.maximum(vals[2], vals[3]))
                out[r] = m.max(axis=(2, 4))
        return (out.astype(x.dtype, copy=False),)
