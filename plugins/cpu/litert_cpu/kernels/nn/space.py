"""DepthToSpace and SpaceToDepth (DCR and CRD orders) as reshape/transpose."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("DepthToSpace")
class DepthToSpace(Kernel):
    def run(self, x):
        bs = int(self.attrs["blocksize"])
        n, c, h, w = x.shape
        if self.attrs.get("mode", "DCR") == "DCR":
            t = x.reshape(n, bs, bs, c // bs**2, h, w).transpose(0, 3, 4, 1, 5, 2)
        else:
            t = x.reshape(n, c // bs**2, bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
        return (np.ascontiguousarray(t).reshape(n, c // bs**2, h * bs, w * bs),)


@kernel("SpaceToDepth")
class SpaceToDepth(Kernel):
    def run(self, x):
        bs = int(self.attrs["blocksize"])
        n, c, h, w = x.shape
        t = x.reshape(n, c, h // bs, bs, w // bs, bs)
        if self.attrs.get("mode", "DCR") == "DCR":
            t = t.transpose(0, 3, 5, 1, 2, 4)
        else:
            t = t.transpose(0, 1, 3, 5, 2, 4)
        return (np.ascontiguousarray(t).reshape(n, c * bs * bs, h // bs, w // bs),)
