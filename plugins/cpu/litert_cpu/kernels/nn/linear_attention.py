"""LinearAttention (linear / gated / delta / gated_delta recurrences, GQA),
run as the sequential recurrence over time in float32, with every head of
every batch updated at once per step."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


def _heads(x: np.ndarray, h: int) -> np.ndarray:
    b, t, hd = x.shape
    return x.reshape(b, t, h, hd // h).transpose(0, 2, 1, 3).astype(np.float32)


@kernel("LinearAttention")
class LinearAttention(Kernel):
    def run(self, query, key, value, past_state=None, decay=None, beta=None):
        a = self.attrs
        rule = a.get("update_rule", "gated_delta")
        hq, hkv = int(a["q_num_heads"]), int(a["kv_num_heads"])
        gating = rule in ("gated", "gated_delta")
        delta = rule in ("delta", "gated_delta")
        b, t, _ = query.shape
        dk = query.shape[-1] // hq
        dv = value.shape[-1] // hkv
        group = hq // hkv
        q4, k4, v4 = _heads(query, hq), _heads(key, hkv), _heads(value, hkv)
        if gating:
            if decay.shape[-1] == hkv:
                g4 = decay.reshape(b, t, hkv, 1).transpose(0, 2, 1, 3).astype(np.float32)
            else:
                g4 = _heads(decay, hkv)
            eg = np.exp(g4)[..., None]  # (b, hkv, t, dk|1, 1)
        if delta:
            bl = beta.shape[-1]
            b4 = beta.reshape(b, t, bl, 1).transpose(0, 2, 1, 3).astype(np.float32)
        if past_state is not None:
            state_dtype = past_state.dtype
            state = past_state.astype(np.float32)
        else:
            state_dtype = query.dtype
            state = np.zeros((b, hkv, dk, dv), np.float32)
        scale = float(a.get("scale", 0.0) or 0.0) or 1.0 / np.sqrt(dk)
        # (b, hkv, group, t, dk): query heads grouped by the KV head they read
        qg = q4.reshape(b, hkv, group, t, dk)
        out = np.empty((b, hkv, group, t, dv), np.float32)
        for i in range(t):
            k_t = k4[:, :, i]
            v_t = v4[:, :, i]
            if gating:
                state = state * eg[:, :, i]
            if delta:
                retrieved = np.matmul(k_t[:, :, None, :], state)[:, :, 0]
                v_t = b4[:, :, i] * (v_t - retrieved)
            state = state + k_t[..., :, None] * v_t[..., None, :]
            out[:, :, :, i] = np.matmul(qg[:, :, :, i], state)
        out *= np.float32(scale)
        y = out.reshape(b, hq, t, dv).transpose(0, 2, 1, 3).reshape(b, t, hq * dv)
        return y.astype(query.dtype), state.astype(state_dtype)
