"""CausalConvWithState: depthwise causal 1-D conv over ``[past_state, x]``
(zeros when no state), optional SiLU, and the new carry state."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


@kernel("CausalConvWithState")
class CausalConvWithState(Kernel):
    def run(self, x, weight, bias=None, past_state=None):
        n, c, length = x.shape
        k = weight.shape[2]
        if past_state is None:
            past_state = np.zeros((n, c, k - 1), x.dtype)
        padded = np.concatenate([past_state.astype(x.dtype, copy=False), x], axis=2)
        cdt = compute_dtype(x.dtype)
        pf = padded.astype(cdt, copy=False)
        w = weight.astype(cdt, copy=False).reshape(c, k)
        y = pf[:, :, 0:length] * w[:, 0:1]
        for j in range(1, k):
            y += pf[:, :, j:j + length] * w[:, j:j + 1]
        if bias is not None:
            y += bias.astype(cdt)[:, None]
        y = y.astype(x.dtype)
        if self.attrs.get("activation", "none") in ("silu", "swish"):
            yf = y.astype(np.float32)
            y = (yf / (1 + np.exp(-yf))).astype(x.dtype)
        present = padded[:, :, padded.shape[2] - (k - 1):]
        return y, np.ascontiguousarray(present)
