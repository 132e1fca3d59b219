"""Winograd convolution F(m x m, 3 x 3) for 3x3, stride-1, ungrouped convs.

Lavin & Gray's minimal filtering: an output tile of m x m comes from an
(m+2) x (m+2) input tile with ``(m+2)^2`` multiplications per channel pair
instead of ``9 m^2``: 2.25x fewer for m=2, 4x for m=4 (``choose_tile`` picks
m=2 only, for accuracy).  In numpy every step is a BLAS call or one copy:

1. the input tiles (overlapping by 2) are copied into ``D[i, j, c, tile]``;
2. ``U = B^T D B``, applied as two small GEMMs (one per tile axis);
3. per transformed position ``(i, j)`` one GEMM: ``Y_ij = G_ij @ U_ij`` with the
   weights transformed once (``G g G^T``, shape ``((m+2)^2, M, C)``);
4. ``O = A^T Y A`` (two small GEMMs) and the ``m^2`` output phases are
   written into the result, bias added on the way.

Work is cut into blocks of tile rows (tasks for the thread pool, sized to
stay in cache).  float32 only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...threads import current_threads, parallel_for, split
from ._common import SCRATCH, pad_into
from ._gemm import PARALLEL_MACS

# B^T, G, A^T for F(2, 3) and F(4, 3) (Lavin & Gray 2016, points 0, +-1, +-2, 1/2 scaled)
_MATRICES = {
    2: (
        [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    4: (
        [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    ),
}

#: a block's transformed input (``(m+2)^2 * C * tiles`` floats) stays about this big
_BLOCK_BYTES = 2 << 20


def choose_tile(n: int, c: int, m: int, out_hw) -> int | None:
    """The output tile size worth using for this conv, or None for the
    direct (im2col) method.

    Only F(2x2, 3x3): its transforms hold 0, +-1 and +-1/2, so its float32
    error is that of the direct method.  F(4x4, 3x3) was 1.3-1.6x faster
    still on large layers, but its transforms (entries up to 8) raise the
    relative error of small outputs past 1e-5: SqueezeNet's logits then
    failed the MindSpore-style mean-bias check of ``litert benchmark``
    (0.52% against 0.006% direct).  From measurements on a Zen 5 core, F(2, 3)
    wins from ~36 tiles of 2x2 with at least 32 channels on both sides; with
    fewer the GEMMs are too thin or the transforms dominate."""
    oh, ow = out_hw
    if min(c, m) < 32:
        return None
    if n * -(-oh // 2) * -(-ow // 2) >= 36:
        return 2
    return None


class Winograd:
    """The transformed weights of one conv for one tile size, and the run."""

    def __init__(self, w: np.ndarray, m: int):
        bt, g, at = (np.array(v, np.float64) for v in _MATRICES[m])
        self.m, self.a = m, m + 2
        self.M, self.C = w.shape[:2]
        gw = np.einsum("ij,mcjk,lk->ilmc", g, w.astype(np.float64), g)  # (a, a, M, C)
        self.gw = np.ascontiguousarray(gw.reshape(self.a * self.a, self.M, self.C), np.float32)
        self.bt = bt.astype(np.float32)
        self.at = at.astype(np.float32)
        self._blocks: dict = {}

    def blocks(self, n: int, th: int, tw: int):
        threads = current_threads()
        key = (n, th, tw, threads)
        b = self._blocks.get(key)
        if b is None:
            per_row = self.a * self.a * max(self.C, self.M) * tw * 4
            rows = max(1, min(th, _BLOCK_BYTES // per_row))
            count = -(-th // rows)
            macs = n * th * tw * self.m * self.m * 9 * self.C * self.M  # of the direct conv
            if threads > 1 and n * count < threads and macs >= PARALLEL_MACS * threads:
                count = min(th, -(-threads // n))
            b = [(i, r0, r1) for i in range(n) for r0, r1 in split(th, count)]
            self._blocks[key] = b
        return b

    def __call__(self, x: np.ndarray, y: np.ndarray, pads_begin, bias=None, z=None, act=None) -> None:
        """Write ``act(conv(x) + bias + z)`` into ``y`` (N, M, OH, OW)."""
        m, a, M, C = self.m, self.a, self.M, self.C
        n, _, h, w = x.shape
        oh, ow = y.shape[2:]
        th, tw = -(-oh // m), -(-ow // m)
        pt, pl = pads_begin
        # zero padding to whole tiles: rows/cols up to th*m + 2
        xp = pad_into(SCRATCH, x, [pt, pl], [th * m + 2 - h - pt, tw * m + 2 - w - pl], 0, key="wino")
        s = xp.strides
        bt, at, gw = self.bt, self.at, self.gw
        b3 = None if bias is None else bias.reshape(M, 1, 1)
        blocks = self.blocks(n, th, tw)

        def task(t: int) -> None:
            i, r0, r1 = blocks[t]
            tb = r1 - r0
            r = C * tb * tw
            view = as_strided(xp[i, :, r0 * m:], (C, tb, tw, a, a), (s[1], s[2] * m, s[3] * m, s[2], s[3]))
            d, _ = SCRATCH.get("wino_d", (a, a, C, tb, tw), np.float32)
            np.copyto(d, view.transpose(3, 4, 0, 1, 2))
            u1, _ = SCRATCH.get("wino_u1", (a, a * r), np.float32)
            np.matmul(bt, d.reshape(a, a * r), out=u1)
            u, _ = SCRATCH.get("wino_u", (a, a, r), np.float32)
            np.matmul(bt, u1.reshape(a, a, r), out=u)
            yy, _ = SCRATCH.get("wino_y", (a * a, M, tb * tw), np.float32)
            np.matmul(gw, u.reshape(a * a, C, tb * tw), out=yy)
            o1, _ = SCRATCH.get("wino_o1", (m, a * M * tb * tw), np.float32)
            np.matmul(at, yy.reshape(a, a * M * tb * tw), out=o1)
            o, _ = SCRATCH.get("wino_o", (m, m, M * tb * tw), np.float32)
            np.matmul(at, o1.reshape(m, a, M * tb * tw), out=o)
            o = o.reshape(m, m, M, tb, tw)
            row0, row1 = r0 * m, min(oh, r1 * m)
            dst = y[i, :, row0:row1]
            for p in range(m):
                rows = -(-(row1 - row0 - p) // m)  # output rows of this phase in the block
                if rows <= 0:
                    continue
                for q in range(m):
                    cols = -(-(ow - q) // m)
                    if cols <= 0:
                        continue
                    src = o[p, q, :, :rows, :cols]
                    out = dst[:, p::m, q::m]
                    if b3 is not None:
                        np.add(src, b3, out=out)
                    else:
                        np.copyto(out, src)
            if z is not None:
                dst += z[i, :, row0:row1]
            if act is not None:
                act(dst)

        parallel_for(len(blocks), task)
