"""RNN, GRU and LSTM: every direction, activation list, layout,
sequence_lens, initial states, clip, peepholes, linear_before_reset,
input_forget.

The input projection ``X @ W^T + Wb`` of all time steps is one GEMM per
direction.  The reverse direction's projections are stored time-reversed so
both directions advance together in a single time loop, one batched
``H @ R^T`` per step.  Rows whose sequence has ended keep their state and
emit zeros.
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
    """Per direction: (key, list of callables); activation_alpha/beta are
    consumed in order by the activations that take them."""
    names = list(attrs.get("activations") or list(defaults) * num_dirs)
    if len(names) == len(defaults) and num_dirs == 2:
        names = names * 2
    alphas = list(attrs.get("activation_alpha") or [])
    betas = list(attrs.get("activation_beta") or [])
    specs = []
    for name in names:
        fn, ua, ub, da, db = _ACTS[name.lower()]
        a = alphas.pop(0) if ua and alphas else da
        b = betas.pop(0) if ub and betas else db
        specs.append((name.lower(), a, b, fn))
    per = len(defaults)
    out = []
    for d in range(num_dirs):
        chunk = specs[d * per:(d + 1) * per]
        key = tuple(s[:3] for s in chunk)
        out.append((key, [lambda x, fn=fn, a=a, b=b: fn(x, a, b) for _, a, b, fn in chunk]))
    return out


def _clip(v, clip):
    return v if clip is None else np.clip(v, -clip, clip, out=v)


class _Recurrent(Kernel):
    gates = 1
    default_acts: tuple[str, ...] = ("Tanh",)
    has_cell = False

    def run(self, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
        a = self.attrs
        cdt = compute_dtype(x.dtype)
        layout = int(a.get("layout", 0))
        direction = a.get("direction", "forward")
        dirs = 2 if direction == "bidirectional" else 1
        hid = int(a.get("hidden_size") or r.shape[-1])
        gh = self.gates * hid
        clip = a.get("clip")
        xs = x.astype(cdt, copy=False)
        if layout:
            xs = xs.transpose(1, 0, 2)
        seq, batch = xs.shape[:2]
        acts = _activations(a, self.default_acts, dirs)
        reverse = [direction == "reverse" or d == 1 for d in range(dirs)]

        # input projections, reverse directions stored time-reversed
        flat = xs.reshape(seq * batch, -1)
        proj = np.empty((seq, dirs, batch, gh), cdt)
        for d in range(dirs):
            pd = (flat @ w[d].astype(cdt, copy=False).T).reshape(seq, batch, gh)
            if b is not None:
                pd += b[d, :gh].astype(cdt, copy=False)
            proj[:, d] = pd[::-1] if reverse[d] else pd
        rt = np.ascontiguousarray(r.astype(cdt, copy=False).transpose(0, 2, 1))  # (dirs, H, G*H)
        rb = None if b is None else b[:, None, gh:].astype(cdt)  # (dirs, 1, G*H)
        peep = None if p is None else p.astype(cdt)[:, None, :]  # (dirs, 1, 3H)

        def initial(v):
            if v is None:
                return np.zeros((dirs, batch, hid), cdt)
            return (v.transpose(1, 0, 2) if layout else v).astype(cdt)

        h = initial(h0)
        c = initial(c0) if self.has_cell else None

        active = None
        if seq_lens is not None:
            lens = np.asarray(seq_lens).astype(np.int64)
            if np.any(lens < seq):
                t = np.arange(seq)[:, None, None]
                fwd = t < lens[None, None, :]
                rev = (seq - 1 - t) < lens[None, None, :]
                active = np.concatenate([rev if reverse[d] else fwd for d in range(dirs)], axis=1)[..., None]

        # directions sharing activations advance together
        groups = {}
        for d in range(dirs):
            groups.setdefault(acts[d][0], []).append(d)
        y = np.zeros((seq, dirs, batch, hid), cdt)
        for ds in groups.values():
            sel = slice(ds[0], ds[-1] + 1)
            fns = acts[ds[0]][1]
            hh = h[sel]
            cc = None if c is None else c[sel]
            r_, rb_ = rt[sel], None if rb is None else rb[sel]
            p_ = None if peep is None else peep[sel]
            for t in range(seq):
                h_new, c_new = self.cell(proj[t, sel], hh, cc, r_, rb_, p_, fns, hid, clip)
                if active is not None:
                    act = active[t, sel]
                    hh = np.where(act, h_new, hh)
                    if cc is not None:
                        cc = np.where(act, c_new, cc)
                    y[t, sel] = np.where(act, h_new, 0)
                else:
                    hh, cc = h_new, c_new
                    y[t, sel] = h_new
            h[sel] = hh
            if c is not None:
                c[sel] = cc
        for d in range(dirs):
            if reverse[d]:
                y[:, d] = y[::-1, d].copy()
        if layout:
            y = y.transpose(2, 0, 1, 3)
            h = h.transpose(1, 0, 2)
            if c is not None:
                c = c.transpose(1, 0, 2)
        outs = [y.astype(x.dtype), h.astype(x.dtype)]
        if self.has_cell:
            outs.append(c.astype(x.dtype))
        return tuple(outs[: max(1, self.ctx.num_outputs)])


@kernel("RNN")
class RNN(_Recurrent):
    def cell(self, xp, h, c, rt, rb, p, acts, hid, clip):
        g = np.matmul(h, rt)
        g += xp
        if rb is not None:
            g += rb
        return acts[0](_clip(g, clip)), None


@kernel("GRU")
class GRU(_Recurrent):
    gates = 3
    default_acts = ("Sigmoid", "Tanh")

    def cell(self, xp, h, c, rt, rb, p, acts, hid, clip):
        f, g = acts
        lbr = self.attrs.get("linear_before_reset", 0)
        if lbr:
            hr = np.matmul(h, rt)  # all three recurrent products at once
            if rb is not None:
                hr += rb
            zr = f(_clip(xp[..., : 2 * hid] + hr[..., : 2 * hid], clip))
            z, rg = zr[..., :hid], zr[..., hid:]
            hh = xp[..., 2 * hid:] + rg * hr[..., 2 * hid:]
        else:
            hr = np.matmul(h, rt[..., : 2 * hid])
            if rb is not None:
                hr += rb[..., : 2 * hid]
            zr = f(_clip(xp[..., : 2 * hid] + hr, clip))
            z, rg = zr[..., :hid], zr[..., hid:]
            hh = xp[..., 2 * hid:] + np.matmul(rg * h, rt[..., 2 * hid:])
            if rb is not None:
                hh += rb[..., 2 * hid:]
        hh = g(_clip(hh, clip))
        return hh + z * (h - hh), None


@kernel("LSTM")
class LSTM(_Recurrent):
    gates = 4
    default_acts = ("Sigmoid", "Tanh", "Tanh")
    has_cell = True

    def cell(self, xp, h, c, rt, rb, p, acts, hid, clip):
        f, g, hf = acts
        gates = np.matmul(h, rt)
        gates += xp
        if rb is not None:
            gates += rb
        if p is None and not self.attrs.get("input_forget", 0):
            # gate order i, o, f, c: the three sigmoid gates are contiguous
            s = f(_clip(gates[..., : 3 * hid], clip))
            i, o, fg = s[..., :hid], s[..., hid:2 * hid], s[..., 2 * hid:]
            c_new = fg * c
            c_new += i * g(_clip(gates[..., 3 * hid:], clip))
            return o * hf(c_new), c_new
        gi, go, gf, gc = (gates[..., k * hid:(k + 1) * hid] for k in range(4))
        if p is not None:
            gi = gi + p[..., :hid] * c
            gf = gf + p[..., 2 * hid:] * c
        i = f(_clip(gi, clip))
        fg = 1 - i if self.attrs.get("input_forget", 0) else f(_clip(gf, clip))
        ct = g(_clip(gc, clip))
        c_new = fg * c + i * ct
        if p is not None:
            go = go + p[..., hid:2 * hid] * c_new
        o = f(_clip(go, clip))
        return o * hf(c_new), c_new
