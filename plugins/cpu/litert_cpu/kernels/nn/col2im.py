"""Col2Im: scatter-add columns of sliding blocks back into an image."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype, prod, scatter_add_taps, spatial_attrs


@kernel("Col2Im")
class Col2Im(Kernel):
    def run(self, x, image_shape, block_shape):
        image = [int(v) for v in image_shape]
        block = [int(v) for v in block_shape]
        nd = len(image)
        strides, dilations, pads = spatial_attrs(self.attrs, nd)
        n = x.shape[0]
        c = x.shape[1] // prod(block)
        blocks = [
            (image[i] + pads[i] + pads[i + nd] - (block[i] - 1) * dilations[i] - 1) // strides[i] + 1 for i in range(nd)
        ]
        cdt = compute_dtype(x.dtype)
        cols = x.astype(cdt, copy=False).reshape((n, c) + tuple(block) + tuple(blocks))
        padded = [image[i] + pads[i] + pads[i + nd] for i in range(nd)]
        buf = np.zeros((n, c) + tuple(padded), cdt)
        scatter_add_taps(cols, buf, block, strides, dilations, [0] * nd)
        y = buf[(Ellipsis,) + tuple(slice(pads[i], pads[i] + image[i]) for i in range(nd))]
        return (np.ascontiguousarray(y).astype(x.dtype, copy=False),)
