"""GridSample (N-D; nearest/linear/cubic; zeros/border/reflection padding)
and AffineGrid.

GridSample is vectorised over all output points: for each spatial axis it
builds the filter taps (indices + weights), then loops over the
``taps ** ndim`` corner combinations, each one a single fancy-index gather of
a channels-last copy of the input.
"""
from __future__ import annotations

import itertools

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import compute_dtype


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect coordinates into ``[lo, hi]`` by the nearest border, repeatedly."""
    rng = hi - lo
    if rng <= 0:
        return np.full_like(x, lo)
    below = x < lo
    above = x > hi
    dx = np.where(below, lo - x, np.where(above, x - hi, 0.0))
    n = np.floor(dx / rng)
    r = dx - n * rng
    even = (n % 2) == 0
    from_lo = np.where(even, lo + r, hi - r)
    from_hi = np.where(even, hi - r, lo + r)
    return np.where(below, from_lo, np.where(above, from_hi, x))


def _cubic_coeffs(t: np.ndarray, a: float = -0.75) -> list[np.ndarray]:
    def near(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


@kernel("GridSample")
class GridSample(Kernel):
    def run(self, x, grid):
        mode = self.attrs.get("mode", "linear")
        mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)  # opset 16 names
        padding = self.attrs.get("padding_mode", "zeros")
        align = bool(self.attrs.get("align_corners", 0))
        cdt = compute_dtype(x.dtype)
        n, c = x.shape[:2]
        dims = x.shape[2:]
        nd = len(dims)
        out_sp = grid.shape[1:-1]
        g = grid.astype(np.float64)
        coords = []
        bounds = []
        for i in range(nd):
            v = g[..., nd - 1 - i]  # grid's last axis lists the innermost dimension first
            size = dims[i]
            v = (v + 1) / 2 * (size - 1) if align else ((v + 1) * size - 1) / 2
            lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
            if mode == "nearest":
                v = np.rint(v)
            if padding == "border":  # only coordinates past the border box move
                v = np.where((v < lo) | (v > hi), np.clip(v, 0, size - 1), v)
            elif padding == "reflection":
                v = _reflect(v, lo, hi)
            coords.append(v)
            bounds.append((lo, hi))

        taps = []  # per axis: list of (index array, weight array or None)
        for i in range(nd):
            v = coords[i]
            if mode == "nearest":
                taps.append([(v.astype(np.int64), None)])
                continue
            f = np.floor(v)
            t = v - f
            f = f.astype(np.int64)
            if mode == "linear":
                taps.append([(f, 1 - t), (f + 1, t)])
            else:
                cs = _cubic_coeffs(t)
                taps.append([(f + k - 1, cs[k]) for k in range(4)])

        xt = np.moveaxis(x.astype(cdt, copy=False), 1, -1)  # (N, *dims, C)
        bidx = np.arange(n).reshape((n,) + (1,) * len(out_sp))
        out = np.zeros((n,) + tuple(out_sp) + (c,), cdt)
        for combo in itertools.product(*taps):
            idx = []
            weight = None
            valid = None
            for i, (ii, w) in enumerate(combo):
                size = dims[i]
                if padding == "zeros":
                    ok = (ii >= 0) & (ii < size)
                    valid = ok if valid is None else valid & ok
                    ii = np.clip(ii, 0, size - 1)
                elif padding == "border":
                    ii = np.clip(ii, 0, size - 1)
                else:
                    ii = np.clip(_reflect(ii.astype(np.float64), *bounds[i]).astype(np.int64), 0, size - 1)
                idx.append(ii)
                if w is not None:
                    weight = w if weight is None else weight * w
            vals = xt[(bidx,) + tuple(idx)]
            if valid is not None:
                weight = valid.astype(np.float64) if weight is None else weight * valid
            if weight is None:
                out += vals
            else:
                out += vals * weight[..., None].astype(cdt)
        y = np.moveaxis(out, -1, 1)
        return (np.ascontiguousarray(y).astype(x.dtype, copy=False),)


@kernel("AffineGrid")
class AffineGrid(Kernel):
    """Grid ``theta @ [x, y, (z,) 1]`` over the normalised output lattice."""

    def run(self, theta, size):
        size = [int(v) for v in size]
        align = bool(self.attrs.get("align_corners", 0))
        n = size[0]
        sp = size[2:]
        nd = len(sp)
        axes = []
        for s in sp:
            if align:
                a = np.linspace(-1.0, 1.0, s) if s > 1 else np.zeros(1)
            else:
                a = (np.arange(s) * 2.0 + 1.0) / s - 1.0
            axes.append(a)
        mesh = np.meshgrid(*axes, indexing="ij")  # (D,) H, W
        base = np.stack([m for m in reversed(mesh)] + [np.ones_like(mesh[0])], axis=-1)  # (..., nd+1): x, y, (z), 1
        base = base.reshape(-1, nd + 1)
        th = theta.astype(np.float64)
        grid = np.einsum("pk,njk->npj", base, th)  # (N, P, nd)
        return (grid.reshape((n,) + tuple(sp) + (nd,)).astype(theta.dtype),)
