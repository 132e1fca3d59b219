"""Attention (opset 23-25): MHA/GQA/MQA, 3-D or 4-D inputs, boolean or
additive masks, offset-aware causal masking, sliding windows, softcap,
past/present KV cache, nonpad_kv_seqlen, qk_matmul_output modes 0-3 and
softmax_precision.  Semantics follow the ONNX reference implementation.
"""
from __future__ import annotations

import numpy as np

from litert.ir.dtypes import numpy_dtype

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


def _split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    b, s, h = x.shape
    return x.reshape(b, s, heads, h // heads).transpose(0, 2, 1, 3)


def _masked_softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis where an all ``-inf`` row gives zeros."""
    m = x.max(axis=-1, keepdims=True)
    m = np.where(np.isneginf(m), 0, m)
    y = np.exp(x - m)
    s = y.sum(axis=-1, keepdims=True)
    y /= np.where(s == 0, 1, s)
    return y


def _window_allowed(q_len, kv_len, offset, left, right, causal):
    """Boolean (q, kv) or (batch, 1, q, kv) matrix of allowed positions."""
    i = np.arange(q_len).reshape(q_len, 1)
    j = np.arange(kv_len).reshape(1, kv_len)
    if np.ndim(offset) > 0:
        diff = (i + np.reshape(offset, (-1, 1, 1))) - j  # (batch, q, kv)
    else:
        diff = (i + int(offset)) - j
    allowed = np.ones(diff.shape, bool)
    if causal:
        allowed &= diff >= 0
    if left >= 0:
        allowed &= diff <= left
    if right >= 0:
        allowed &= -diff <= right
    if allowed.ndim == 3:
        allowed = allowed[:, None]
    return allowed


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """matmul in the operands' dtype; float16/bfloat16 go through float32 BLAS
    and are rounded back, like the reference's numpy matmul."""
    cdt = compute_dtype(a.dtype)
    if cdt == a.dtype:
        return np.matmul(a, b)
    return np.matmul(a.astype(cdt), b.astype(cdt)).astype(a.dtype)


@kernel("Attention")
class Attention(Kernel):
    def run(self, q, k, v, attn_mask=None, past_key=None, past_value=None, nonpad_kv_seqlen=None):
        a = self.attrs
        out_dtype = q.dtype
        # elementwise work stays in the input precision, as in the reference
        cdt = np.dtype(q.dtype)
        three_d = q.ndim == 3
        qf, kf, vf = (t.astype(cdt, copy=False) for t in (q, k, v))
        if three_d:
            qh = int(a["q_num_heads"])
            kvh = int(a["kv_num_heads"])
            qf, kf, vf = _split_heads(qf, qh), _split_heads(kf, kvh), _split_heads(vf, kvh)
        if past_key is not None:
            kf = np.concatenate((past_key.astype(cdt, copy=False), kf), axis=2)
            vf = np.concatenate((past_value.astype(cdt, copy=False), vf), axis=2)
        present_k, present_v = kf, vf
        batch, q_heads, q_len, head = qf.shape
        kv_len = kf.shape[2]

        scale = a.get("scale")
        scale = 1.0 / np.sqrt(head) if scale is None else float(scale)
        s = cdt.type(np.sqrt(scale))

        bias = self._bias(attn_mask, past_key, nonpad_kv_seqlen, q_len, kv_len, batch, cdt)

        kv_heads = kf.shape[1]
        if q_heads != kv_heads and q_heads % kv_heads == 0:
            rep = q_heads // kv_heads
            kf = np.repeat(kf, rep, axis=1)
            vf = np.repeat(vf, rep, axis=1)

        qk = _matmul(qf * s, (kf * s).transpose(0, 1, 3, 2))
        softcap = float(a.get("softcap", 0.0) or 0.0)
        if softcap > 0:
            qk /= cdt.type(softcap)
            np.tanh(qk, out=qk)
            qk *= cdt.type(softcap)
        mode = int(a.get("qk_matmul_output_mode", 0))
        qk_out = qk
        scores = qk if bias is None else qk + bias
        if mode == 2:
            qk_out = scores
        prec = a.get("softmax_precision")
        if prec is not None and numpy_dtype(prec) != scores.dtype:
            probs = _masked_softmax(scores.astype(numpy_dtype(prec)))
        else:
            probs = _masked_softmax(scores)
        if bias is not None:
            dead = np.isneginf(bias.max(axis=-1, keepdims=True))
            if dead.any():
                probs = np.where(dead, 0, probs)
        if mode == 3:
            qk_out = probs
        y = _matmul(probs.astype(out_dtype, copy=False), vf)
        if three_d:
            y = y.transpose(0, 2, 1, 3).reshape(batch, q_len, -1)
        outs = [y.astype(out_dtype, copy=False), present_k.astype(out_dtype, copy=False),
                present_v.astype(out_dtype, copy=False), np.asarray(qk_out).astype(out_dtype)]
        return tuple(outs[: max(1, self.ctx.num_outputs)])

    def _bias(self, mask, past_key, nonpad, q_len, kv_len, batch, cdt):
        """The additive bias (broadcastable to (b, h, q, kv)) or None."""
        a = self.attrs
        causal = bool(a.get("is_causal", 0))
        left = int(a.get("left_window_size", -1))
        right = int(a.get("right_window_size", -1))
        bias = None
        if mask is not None:
            pad = kv_len - mask.shape[-1]
            if mask.dtype == np.bool_:
                m = np.where(mask, cdt.type(0), cdt.type(-np.inf))
            else:
                m = mask.astype(cdt)
            if pad > 0:
                m = np.concatenate([m, np.full(m.shape[:-1] + (pad,), -np.inf, cdt)], axis=-1)
            bias = m
        if causal or left >= 0 or right >= 0:
            if past_key is None and nonpad is not None:
                offset = np.asarray(nonpad).reshape(-1).astype(np.int64) - q_len
            else:
                offset = past_key.shape[2] if past_key is not None else 0
            allowed = _window_allowed(q_len, kv_len, offset, left, right, causal)
            w = np.where(allowed, cdt.type(0), cdt.type(-np.inf))
            bias = w if bias is None else bias + w
        if nonpad is not None:
            valid = np.arange(kv_len) < np.asarray(nonpad).reshape(-1, 1)
            p = np.where(valid, cdt.type(0), cdt.type(-np.inf)).reshape(batch, 1, 1, kv_len)
            bias = p if bias is None else bias + p
        return bias
