"""MaxRoiPool: Caffe-style max pooling of regions of interest.

Each ROI ``[batch, x1, y1, x2, y2]`` is scaled by ``spatial_scale``, rounded
to pixels and split into ``pooled_shape`` bins (floor/ceil bounds, clipped to
the image); a bin's output is the max over it, 0 for an empty bin.
"""
from __future__ import annotations

import math

import numpy as np

from .._base import Kernel
from .._registry import kernel


def _round(value: float) -> int:
    """C's round(): halves away from zero (Python's round() goes to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@kernel("MaxRoiPool")
class MaxRoiPool(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.pooled_h, self.pooled_w = (int(v) for v in attrs["pooled_shape"])
        self.scale = float(attrs.get("spatial_scale", 1.0))

    def _bounds(self, start: int, length: int, bins: int, size: int) -> list[tuple[int, int]]:
        step = length / bins
        return [
            (min(max(math.floor(i * step) + start, 0), size), min(max(math.ceil((i + 1) * step) + start, 0), size))
            for i in range(bins)
        ]

    def run(self, x, rois):
        n_rois, channels, height, width = rois.shape[0], x.shape[1], x.shape[2], x.shape[3]
        out = np.zeros((n_rois, channels, self.pooled_h, self.pooled_w), dtype=x.dtype)
        for r, (batch, x1, y1, x2, y2) in enumerate(rois.astype(np.float64)):
            start_w, start_h = _round(x1 * self.scale), _round(y1 * self.scale)
            roi_w = max(_round(x2 * self.scale) - start_w + 1, 1)
            roi_h = max(_round(y2 * self.scale) - start_h + 1, 1)
            image = x[int(batch)]
            for i, (h0, h1) in enumerate(self._bounds(start_h, roi_h, self.pooled_h, height)):
                for j, (w0, w1) in enumerate(self._bounds(start_w, roi_w, self.pooled_w, width)):
                    if h1 > h0 and w1 > w0:
                        out[r, :, i, j] = image[:, h0:h1, w0:w1].max(axis=(1, 2))
        return (out,)
