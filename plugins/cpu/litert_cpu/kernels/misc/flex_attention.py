"""FlexAttention (``ai.onnx.preview``): attention with optional modifier subgraphs.

    scores = (Q*sqrt(s)) @ (K*sqrt(s))^T     in the input dtype
    scores = score_mod(scores)               in the softmax precision
    probs  = softmax(scores) ; probs = prob_mod(probs)
    Y      = probs @ V                       cast back to V's dtype

Grouped-query attention is done by viewing the query heads as
``(kv_heads, group)`` and broadcasting K/V over the group, so K and V are
never repeated in memory.
"""
from __future__ import annotations

import ml_dtypes
import numpy as np

from .._base import Kernel
from .._registry import kernel

# softmax_precision attribute (ONNX TensorProto codes) -> numpy dtype
_PRECISION = {
    1: np.dtype(np.float32),
    10: np.dtype(np.float16),
    11: np.dtype(np.float64),
    16: np.dtype(ml_dtypes.bfloat16),
}


def _softmax_dtype(dtype: np.dtype, precision: int | None) -> np.dtype:
    if precision is not None:
        if precision not in _PRECISION:
            raise ValueError(f"unsupported softmax_precision {precision}")
        return _PRECISION[precision]
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


@kernel("FlexAttention", domain="ai.onnx.preview")
class FlexAttention(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.scale = attrs.get("scale")
        self.score_mod = attrs.get("score_mod")
        self.prob_mod = attrs.get("prob_mod")
        self.precision = attrs.get("softmax_precision")

    def _modify(self, graph, x: np.ndarray) -> np.ndarray:
        if graph is None or self.ctx.run_subgraph is None:
            return x
        return np.asarray(self.ctx.run_subgraph(graph, [x])[0], dtype=x.dtype)

    def run(self, q, k, v):
        if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
            raise ValueError(f"FlexAttention needs rank-4 Q, K, V; got {q.shape}, {k.shape}, {v.shape}")
        b, hq, length, e = q.shape
        hkv, s = k.shape[1], k.shape[2]
        if hq % hkv or v.shape[1] != hkv or v.shape[2] != s or k.shape[3] != e:
            raise ValueError(f"FlexAttention: incompatible shapes Q {q.shape}, K {k.shape}, V {v.shape}")
        group = hq // hkv
        scale = self.scale if self.scale is not None else 1.0 / np.sqrt(e)
        root = np.asarray(np.sqrt(np.float32(scale)), dtype=q.dtype)
        qg = (q * root).reshape(b, hkv, group, length, e)
        kt = (k * root).swapaxes(-1, -2)[:, :, None]
        compute = _softmax_dtype(q.dtype, self.precision)
        scores = np.matmul(qg, kt).reshape(b, hq, length, s).astype(compute, copy=False)
        scores = self._modify(self.score_mod, scores)
        probs = scores - scores.max(axis=-1, keepdims=True)
        np.exp(probs, out=probs)
        probs /= probs.sum(axis=-1, keepdims=True)
        probs = self._modify(self.prob_mod, probs)
        pg = probs.reshape(b, hkv, group, length, s)
        out = np.matmul(pg, v.astype(compute, copy=False)[:, :, None])
        return (out.reshape(b, hq, length, v.shape[3]).astype(v.dtype, copy=False),)
