"""RotaryEmbedding (opset 23): rotate the first ``rotary_embedding_dim``
features of every head, in half-split or interleaved pairing."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("RotaryEmbedding")
class RotaryEmbedding(Kernel):
    def run(self, x, cos_cache, sin_cache, position_ids=None):
        a = self.attrs
        four_d = x.ndim == 4
        if four_d:
            xs = x.transpose(0, 2, 1, 3)  # (b, s, h, d)
        else:
            heads = int(a["num_heads"])
            xs = x.reshape(x.shape[0], x.shape[1], heads, -1)
        head = xs.shape[-1]
        rdim = int(a.get("rotary_embedding_dim", 0) or 0) or head
        if position_ids is not None:
            cos_cache = cos_cache[position_ids]
            sin_cache = sin_cache[position_ids]
        cos = cos_cache[:, :, None, :]  # (b, s, 1, rdim/2)
        sin = sin_cache[:, :, None, :]
        y = xs.copy()
        rot = xs[..., :rdim]
        if a.get("interleaved", 0):
            x1, x2 = rot[..., 0::2], rot[..., 1::2]
            y[..., 0:rdim:2] = cos * x1 - sin * x2
            y[..., 1:rdim:2] = sin * x1 + cos * x2
        else:
            half = rdim // 2
            x1, x2 = rot[..., :half], rot[..., half:]
            y[..., :half] = cos * x1 - sin * x2
            y[..., half:rdim] = sin * x1 + cos * x2
        y = y.transpose(0, 2, 1, 3) if four_d else y.reshape(x.shape)
        return (np.ascontiguousarray(y).astype(x.dtype, copy=False),)
