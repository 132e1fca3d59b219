"""Transpose: a zero-copy numpy view (consumers copy only if they need to)."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("Transpose")
class Transpose(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        perm = attrs.get("perm")
        self.perm = None if perm is None else tuple(int(p) for p in perm)

    def run(self, data):
        return (np.transpose(data, self.perm),)
