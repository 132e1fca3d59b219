"""RNN, GRU and LSTM: every direction, activation list, layout,
sequence_lens, initial states, clip, peepholes, linear_before_reset,
input_forget.

The input projection ``X @ W^T + Wb`` of all time steps is one GEMM; the time
loop then does one ``H @ R^T`` per step.  Rows whose sequence has ended keep
their state and emit zeros.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


def _sigmoid(x):
    out = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


# name -> (function(x, alpha, beta), uses alpha, uses beta, default alpha, default beta)
_ACTS = {
    "relu": (lambda x, a, b: np.maximum(x, 0), False, False, None, None),
    "tanh": (lambda x, a, b: np.tanh(x), False, False, None, None),
    "sigmoid": (lambda x, a, b: _sigmoid(x), False, False, None, None),
    "affine": (lambda x, a, b: a * x + b, True, True, 1.0, 0.0),
    "leakyrelu": (lambda x, a, b: np.where(x >= 0, x, a * x), True, False, 0.01, None),
    "thresholdedrelu": (lambda x, a, b: np.where(x > a, x, 0), True, False, 1.0, None),
    "scaledtanh": (lambda x, a, b: a * np.tanh(b * x), True, True, 1.0, 1.0),
    "hardsigmoid": (lambda x, a, b: np.clip(a * x + b, 0, 1), True, True, 0.2, 0.5),
    "elu": (lambda x, a, b: np.where(x >= 0, x, a * np.expm1(np.minimum(x, 0))), True, False, 1.0, None),
    "softsign": (lambda x, a, b: x / (1 + np.abs(x)), False, False, None, None),
    "softplus": (lambda x, a, b: np.logaddexp(x, 0), False, False, None, None),
}


def _activations(attrs, defaults, num_dirs):
    """One list of callables per direction, consuming activation_alpha/beta in order."""
    names = list(attrs.get("activations") or defaults * num_dirs)
    if len(names) == len(defaults) and num_dirs == 2:
        names = names * 2
    alphas = list(attrs.get("activation_alpha") or [])
    betas = list(attrs.get("activation_beta") or [])
    fns = []
    for name in names:
        fn, ua, ub, da, db = _ACTS[name.lower()]
        a = alphas.pop(0) if ua and alphas else da
        b = betas.pop(0) if ub and betas else db
        fns.append(lambda x, fn=fn, a=a, b=b: fn(x, a, b))
    per = len(defaults)
    return [fns[d * per:(d + 1) * per] for d in range(num_dirs)]


class _Recurrent(Kernel):
    gates = 1
    default_acts = ("Tanh",)
    has_cell = False

    def run(self, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
        a = self.attrs
        cdt = compute_dtype(x.dtype)
        layout = int(a.get("layout", 0))
        direction = a.get("direction", "forward")
        dirs = 2 if direction == "bidirectional" else 1
        hid = int(a.get("hidden_size") or r.shape[-1])
        clip = a.get("clip")
        xs = x.astype(cdt, copy=False)
        if layout:
            xs = xs.transpose(1, 0, 2)
        seq, batch = xs.shape[:2]
        acts = _activations(a, list(self.default_acts), dirs)
        lens = None if seq_lens is None else np.asarray(seq_lens).astype(np.int64)
        if lens is not None and np.all(lens >= seq):
            lens = None
        if h0 is not None and layout:
            h0 = h0.transpose(1, 0, 2)
        if c0 is not None and layout:
            c0 = c0.transpose(1, 0, 2)
        ys, hs, cs = [], [], []
        for d in range(dirs):
            reverse = direction == "reverse" or d == 1
            wd = w[d].astype(cdt, copy=False)
            rd = r[d].astype(cdt, copy=False)
            bd = None if b is None else b[d].astype(cdt, copy=False)
            proj = (xs.reshape(seq * batch, -1) @ wd.T).reshape(seq, batch, -1)
            if bd is not None:
                proj += bd[: self.gates * hid]
            h = np.zeros((batch, hid), cdt) if h0 is None else h0[d].astype(cdt)
            c = None
            if self.has_cell:
                c = np.zeros((batch, hid), cdt) if c0 is None else c0[d].astype(cdt)
            pd = None if p is None else p[d].astype(cdt, copy=False)
            rb = None if bd is None else bd[self.gates * hid:]
            y = np.zeros((seq, batch, hid), cdt)
            steps = range(seq - 1, -1, -1) if reverse else range(seq)
            for t in steps:
                h_new, c_new = self.cell(proj[t], h, c, rd, rb, pd, acts[d], hid, clip)
                if lens is not None:
                    active = (t < lens)[:, None]
                    h = np.where(active, h_new, h)
                    if c is not None:
                        c = np.where(active, c_new, c)
                    y[t] = np.where(active, h_new, 0)
                else:
                    h, c = h_new, c_new
                    y[t] = h_new
            ys.append(y)
            hs.append(h)
            cs.append(c)
        y = np.stack(ys, axis=1)  # (seq, dirs, batch, hid)
        yh = np.stack(hs)
        if layout:
            y = y.transpose(2, 0, 1, 3)
            yh = yh.transpose(1, 0, 2)
        outs = [y.astype(x.dtype), yh.astype(x.dtype)]
        if self.has_cell:
            yc = np.stack(cs)
            outs.append((yc.transpose(1, 0, 2) if layout else yc).astype(x.dtype))
        return tuple(outs[: max(1, self.ctx.num_outputs)])


def _clip(v, clip):
    return v if clip is None else np.clip(v, -clip, clip)


@kernel("RNN")
class RNN(_Recurrent):
    def cell(self, xp, h, c, r, rb, p, acts, hid, clip):
        g = xp + h @ r.T
        if rb is not None:
            g = g + rb
        return acts[0](_clip(g, clip)), None


@kernel("GRU")
class GRU(_Recurrent):
    gates = 3
    default_acts = ("Sigmoid", "Tanh")

    def cell(self, xp, h, c, r, rb, p, acts, hid, clip):
        f, g = acts
        rz = h @ r[: 2 * hid].T
        if rb is not None:
            rz += rb[: 2 * hid]
        zr = f(_clip(xp[:, : 2 * hid] + rz, clip))
        z, rg = zr[:, :hid], zr[:, hid:]
        rh = r[2 * hid:]
        rbh = 0 if rb is None else rb[2 * hid:]
        if self.attrs.get("linear_before_reset", 0):
            hh = xp[:, 2 * hid:] + rg * (h @ rh.T + rbh)
        else:
            hh = xp[:, 2 * hid:] + (rg * h) @ rh.T + rbh
        hh = g(_clip(hh, clip))
        return (1 - z) * hh + z * h, None


@kernel("LSTM")
class LSTM(_Recurrent):
    gates = 4
    default_acts = ("Sigmoid", "Tanh", "Tanh")
    has_cell = True

    def cell(self, xp, h, c, r, rb, p, acts, hid, clip):
        f, g, hf = acts
        gates = xp + h @ r.T
        if rb is not None:
            gates += rb
        gi, go, gf, gc = (gates[:, k * hid:(k + 1) * hid] for k in range(4))
        if p is not None:
            gi = gi + p[:hid] * c
            gf = gf + p[2 * hid:] * c
        i = f(_clip(gi, clip))
        fg = 1 - i if self.attrs.get("input_forget", 0) else f(_clip(gf, clip))
        ct = g(_clip(gc, clip))
        c_new = fg * c + i * ct
        if p is not None:
            go = go + p[hid:2 * hid] * c_new
        o = f(_clip(go, clip))
        return o * hf(c_new), c_new
