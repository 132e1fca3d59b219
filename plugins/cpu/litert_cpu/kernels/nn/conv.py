"""Conv (any rank, groups, dilations, strides, pads, auto_pad) and
com.microsoft FusedConv.

Weights are packed once as ``(G, M/G, C/G * prod(kernel))`` so that every
path is a (batched) ``np.matmul`` whose result is already laid out as
``(N, M, *out)``:

* 1x1 without pads: the (strided) input itself is the GEMM operand;
* depthwise (one input channel per group): the kernel taps are contiguous
  shifted slices of the flattened padded image (polyphase-split when
  strided), stacked per channel and reduced by one small batched GEMM;
* otherwise im2col: a strided window view copied into a reused buffer (in
  blocks of output rows when large), then the GEMM.

Every path is cut into tasks for the thread pool (``litert_cpu.threads``):
GEMM pieces over images, groups, output rows or columns; im2col row blocks;
depthwise channel blocks sized to stay in cache.  Bias, the residual
``Z`` of FusedConv and the activation are applied by each task to the block
it just wrote, while that block is still in cache (the "epilogue").
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ...threads import current_threads, parallel_for, split
from .._base import Kernel
from .._registry import kernel
from ._common import RECYCLER, SCRATCH, activation, compute_dtype, pad_into, prod, spatial_attrs, window_geometry, windows
from ._gemm import PARALLEL_MACS
from .winograd import Winograd, choose_tile

#: im2col column matrices larger than this are built and multiplied in blocks
_COLS_BYTES = 2 << 20
#: depthwise blocks are sized so that their stacked tap slices stay about this
#: big (smaller blocks were measured slower: the numpy calls per block add up)
_DW_BLOCK_BYTES = 4 << 20
#: depthwise convs with fewer output elements than this run as one task
_DW_PARALLEL = 1 << 17


def _epilogue(dst, src=None, bias=None, z=None, act=None) -> None:
    """``dst = act(src + bias + z)`` in place, each term optional (``src``
    absent: ``dst`` already holds the convolution)."""
    if src is not None:
        if bias is not None:
            np.add(src, bias, out=dst)
        else:
            np.copyto(dst, src)
    elif bias is not None:
        dst += bias
    if z is not None:
        dst += z
    if act is not None:
        act(dst)


class _DepthwisePlan(NamedTuple):
    """Geometry of one depthwise conv for one input shape (see ``_depthwise``).

    Every tap reads its source at a row shift: ``taps[t] = (source, shift)``.
    ``layout`` says where the sources come from: ``"flat"`` (2-D, stride 1,
    width kept: the image flattened with ``front`` zeros before it, rows at
    the input width, columns outside ``valid[source]`` masked), ``"direct"``
    (other 2-D convs: strided copies straight from x, per ``specs``) or
    ``"padded"`` (other ranks: the padded, polyphase-split image with
    ``extra_rows`` more rows)."""

    layout: str
    full: list            # padded spatial extent
    q: list               # spatial extent of a source image (rows of width q[-1])
    need: int             # flat length of a "flat" image
    taps: list
    sources: list         # (phase, shift within a row)
    shifts: list          # row shifts
    row: int | None
    length: int           # output positions computed per channel
    span: int             # positions of a source the row shifts read
    crop: tuple
    blocks: list          # (images, first channel, end channel) per task
    front: int = 0
    valid: Sequence = ()
    specs: Sequence = ()
    extra_rows: int = 0


class ConvCore:
    """The convolution itself, shared by Conv, FusedConv, ConvInteger and
    QLinearConv.  ``w_const`` (if known at compile time) is packed once."""

    def __init__(self, attrs: dict, w_const: np.ndarray | None, dtype=None):
        self.group = int(attrs.get("group", 1))
        self.auto_pad = attrs.get("auto_pad", "NOTSET")
        self.kernel_shape = attrs.get("kernel_shape")
        self.attrs = attrs
        self.scratch = SCRATCH
        self._plans: dict = {}
        self._packed = None
        if w_const is not None:
            cdt = compute_dtype(w_const.dtype) if dtype is None else np.dtype(dtype)
            self._packed = self.pack(w_const, cdt)

    def pack(self, w: np.ndarray, cdt) -> np.ndarray:
        g = self.group
        m = w.shape[0]
        return np.ascontiguousarray(w.reshape(g, m // g, -1), dtype=cdt)

    def plan(self, x_shape, w_shape):
        key = (x_shape, w_shape)
        p = self._plans.get(key)
        if p is None:
            nd = len(x_shape) - 2
            kernel = list(self.kernel_shape or w_shape[2:])
            strides, dilations, pads = spatial_attrs(self.attrs, nd)
            out, pb, pe = window_geometry(x_shape[2:], kernel, strides, dilations, pads, self.auto_pad)
            p = (kernel, strides, dilations, out, pb, pe)
            self._plans[key] = p
        return p

    def __call__(self, x: np.ndarray, w: np.ndarray, cdt, zero=0, bias=None, z=None, act=None) -> np.ndarray:
        """Convolution in dtype ``cdt``; returns ``(N, M, *out)``.

        ``zero`` is the value padding stands for (an input zero point);
        ``bias`` (per output channel), ``z`` (shaped like the result) and the
        in-place ``act`` are applied on the way out."""
        kernel, strides, dilations, out, pb, pe = self.plan(x.shape, w.shape)
        wp = self._packed if self._packed is not None else self.pack(w, cdt)
        g, mg, kk = wp.shape
        n, c = x.shape[:2]
        if x.dtype != cdt:
            x = x.astype(cdt)
        p = prod(out)
        y = RECYCLER.empty((n, g * mg) + tuple(out), cdt)
        if y.size == 0:  # nothing to compute (and no padded copy of a possibly huge batch of empty images)
            if z is not None:
                y += z  # still refuses a residual that does not broadcast
            return y
        y4 = y.reshape(n, g, mg, p)
        b4 = None if bias is None else np.asarray(bias, cdt).reshape(1, g, mg, 1)
        z4, zlate = None, False
        if z is not None:
            if z.shape == y.shape:
                z4 = z.reshape(n, g, mg, p)
            else:  # a broadcasting Z: added after the convolution
                zlate = True
        post = (b4, z4, None if zlate else act)
        wino = self._winograd(x.shape, kernel, strides, dilations, out, pb, pe, cdt, zero)
        if wino is not None:
            wino(x, y, pb, None if bias is None else np.asarray(bias, cdt), None if z4 is None else z, post[2])
        elif all(k == 1 for k in kernel) and not any(pb) and not any(pe):
            if any(s != 1 for s in strides):
                x = x[(slice(None), slice(None)) + tuple(slice(None, (o - 1) * s + 1, s) for o, s in zip(out, strides))]
            cols = np.ascontiguousarray(x).reshape(n, g, c // g, p)
            self._gemm(wp, cols, y4, post)
        elif c // g == 1 and g > 1:
            self._depthwise(x, wp, y, kernel, strides, dilations, out, pb, pe, zero, post)
        else:
            xp = pad_into(self.scratch, x, pb, pe, zero)
            self._im2col_gemm(xp, wp, y4, kernel, strides, dilations, out, cdt, post)
        if zlate:
            y += z
            if act is not None:
                act(y)
        return y

    # ------------------------------------------------------------ Winograd

    def _winograd(self, x_shape, kernel, strides, dilations, out, pb, pe, cdt, zero) -> Winograd | None:
        """The Winograd runner for this input shape, when it pays (3x3,
        stride 1, ungrouped, float32, constant weights; see ``winograd``)."""
        key = ("wino", x_shape)
        if key in self._plans:
            return self._plans[key]
        runner = None
        if (self._packed is not None and self.group == 1 and cdt == np.float32 and len(kernel) == 2
                and kernel == [3, 3] and strides == [1, 1] and dilations == [1, 1] and zero == 0
                and all(0 <= p <= 2 for p in (*pb, *pe))):
            tile = choose_tile(x_shape[0], x_shape[1], self._packed.shape[1], out)
            if tile is not None:
                runner = self._plans.get(("wino_tile", tile))
                if runner is None:  # weights transformed once per tile size
                    w = self._packed.reshape(self._packed.shape[1], x_shape[1], 3, 3)
                    runner = self._plans[("wino_tile", tile)] = Winograd(w, tile)
        self._plans[key] = runner
        return runner

    # ------------------------------------------------------------ 1x1: GEMM

    def _gemm_pieces(self, n, g, mg, p, kk, itemsize):
        """(images, groups, rows, columns) slices of the output, one per task.

        One piece unless the product is worth splitting; then whole images
        when there are enough of them, else blocks of output channels (rows),
        which are contiguous: the epilogue over a strided column block ran
        2x slower, and a column split measured 1.4-1.8x slower than a row
        split on 2 threads (256x64 @ 64x3136 with bias, residual and ReLU:
        1.08 vs 0.74 ms).  Columns only when there are too few rows."""
        threads = current_threads()
        key = ("gemm", n, g, mg, p, kk, threads)
        pieces = self._plans.get(key)
        if pieces is not None:
            return pieces
        full = slice(None)
        if threads <= 1 or n * g * mg * p * kk < PARALLEL_MACS * threads:
            pieces = [(full, full, full, full)]
        elif n >= threads:
            pieces = [(slice(a, b), full, full, full) for a, b in split(n, threads)]
        elif g >= threads:
            pieces = [(slice(i, i + 1), slice(a, b), full, full) for i in range(n) for a, b in split(g, threads)]
        elif mg >= 8 * threads:
            per = -(-threads // n)
            pieces = [(slice(i, i + 1), full, slice(a, b), full) for i in range(n) for a, b in split(mg, per, 8)]
        else:
            per = -(-threads // n)
            pieces = [(slice(i, i + 1), full, full, slice(a, b)) for i in range(n) for a, b in split(p, per, 16)]
        self._plans[key] = pieces
        return pieces

    def _gemm(self, wp, cols, y4, post) -> None:
        b4, z4, act = post
        pieces = self._gemm_pieces(*y4.shape, wp.shape[2], y4.dtype.itemsize)

        def task(t: int) -> None:
            ns, gs, rs, cs = pieces[t]
            dst = y4[ns, gs, rs, cs]
            np.matmul(wp[gs, rs], cols[ns, gs, :, cs], out=dst)
            _epilogue(dst, None, None if b4 is None else b4[:, gs, rs], None if z4 is None else z4[ns, gs, rs, cs], act)

        parallel_for(len(pieces), task)

    # ------------------------------------------------------------ im2col

    def _im2col_gemm(self, xp, wp, y4, kernel, strides, dilations, out, cdt, post) -> None:
        """im2col into a reused (per-thread) buffer, then one batched GEMM per
        block of output rows (first spatial axis); blocks are tasks."""
        b4, z4, act = post
        n, c = xp.shape[:2]
        g, mg, kk = wp.shape
        nd = len(kernel)
        win = windows(xp, out, kernel, strides, dilations)  # (N, C, *k, ... ) view
        perm = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
        win = win.transpose(perm)  # (N, C, *k, *out)
        row = prod(out[1:])
        threads = current_threads()
        key = ("im2col", xp.shape, threads)
        blocks = self._plans.get(key)
        if blocks is None:
            per_row = n * c * prod(kernel) * row * cdt.itemsize
            # blocks of at least ~512 output positions keep the GEMMs efficient
            rows = max(1, -(-512 // max(row, 1)), _COLS_BYTES // max(per_row, 1))
            count = -(-out[0] // rows)
            if threads > 1 and count < threads and n * g * mg * kk * prod(out) >= PARALLEL_MACS * threads:
                count = threads
            blocks = split(out[0], count)
            self._plans[key] = blocks
        lead = (slice(None),) * (2 + nd)
        full = slice(None)

        def task(t: int) -> None:
            r0, r1 = blocks[t]
            buf, _ = self.scratch.get("cols", (n, c) + tuple(kernel) + (r1 - r0,) + tuple(out[1:]), cdt)
            np.copyto(buf, win[lead + (slice(r0, r1),)])
            cs = slice(r0 * row, r1 * row)
            dst = y4[..., cs]
            np.matmul(wp, buf.reshape(n, g, kk, (r1 - r0) * row), out=dst)
            _epilogue(dst, None, b4, None if z4 is None else z4[full, full, full, cs], act)

        parallel_for(len(blocks), task)

    # ------------------------------------------------------------ depthwise

    def _depthwise_plan(self, x_shape, mg, itemsize, kernel, strides, dilations, out, pb, pe):
        """Geometry of the flattened depthwise conv, cached per input shape.

        Every tap reads the flattened (phase) image at ``offset`` =
        ``v * row + h``: a row shift ``v`` and a shift ``h`` within the row.
        The distinct ``(phase, h)`` are the *sources*, the distinct ``v`` the
        *row shifts*; see ``_depthwise``."""
        threads = current_threads()
        key = ("dw", x_shape, tuple(kernel), threads)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        nd = len(kernel)
        n, g = x_shape[:2]
        full = [x_shape[2 + i] + pb[i] + pe[i] for i in range(nd)]
        # "flat": rows keep the input width (no column padding, no crop); the
        # taps that would read across a row end get those columns masked to
        # `zero` in their source instead.  2-D stride-1 convs keeping the width.
        flat = nd == 2 and strides == [1, 1] and out[1] == x_shape[3]
        q = list(x_shape[2:]) if flat else [-(-full[i] // strides[i]) for i in range(nd)]
        sizes = [prod(q[i + 1:]) for i in range(nd)]
        row = q[-1] if nd > 1 else None
        taps = []  # (source index, row-shift index) per tap, in weight order
        sources: dict = {}
        shifts: dict = {}
        for tap in np.ndindex(*kernel):
            pos = [tap[j] * dilations[j] for j in range(nd)]
            if flat:
                phase, v, h = 0, pos[0], pos[1]
            else:
                phase = int(np.ravel_multi_index([p % s for p, s in zip(pos, strides)], strides))
                offset = sum((pos[j] // strides[j]) * sizes[j] for j in range(nd))
                v, h = divmod(offset, row) if row else (0, offset)
            taps.append((sources.setdefault((phase, h), len(sources)), shifts.setdefault(v, len(shifts))))
        length = out[0] * sizes[0]  # output positions computed per channel (row tails cropped)
        span = length + max(shifts) * (row or 0)  # positions of a source the row shifts read
        need = max(h for _, h in sources) + span  # flat length a phase image must have
        layout = "flat" if flat else "direct" if nd == 2 else "padded"
        extras: dict = {}
        if layout == "flat":
            width = q[1]
            extras["front"] = pb[0] * width + pb[1]
            extras["valid"] = [(max(0, pb[1] - h), min(width, width + pb[1] - h)) for _, h in sources]
            need = max(need, extras["front"] + prod(q))
        elif layout == "direct":
            extras["specs"] = [_source_spec(phase, h, strides, pb, x_shape[2:], span // q[1], q[1]) for phase, h in sources]
        else:
            extras["extra_rows"] = max(0, -(-need // sizes[0]) - q[0])
        crop = (Ellipsis,) + tuple(slice(0, o) for o in out[1:])
        # tasks: blocks of channels (of images when small) whose sources stay
        # about _DW_BLOCK_BYTES; at least one per thread
        per_channel = (len(sources) + mg * len(shifts)) * span * itemsize
        cb = min(g, max(1, _DW_BLOCK_BYTES // per_channel))
        ib = min(n, max(1, _DW_BLOCK_BYTES // (per_channel * g))) if cb == g else 1
        count = -(-g // cb)
        if threads > 1 and n * g * mg * prod(out) >= _DW_PARALLEL:
            if -(-n // ib) * count < threads:
                ib = 1
            if n * count < threads:
                count = min(g, -(-threads // n))
        blocks = [(slice(i, min(n, i + ib)), a, b) for i in range(0, n, ib) for a, b in split(g, count)]
        plan = _DepthwisePlan(layout, full, q, need, taps, list(sources), list(shifts), row, length, span, crop,
                              blocks, **extras)
        self._plans[key] = plan
        return plan

    def _depthwise_weights(self, wp, taps, nsrc, nshift) -> np.ndarray:
        """``(G, mg * shifts, sources)``: row ``m * shifts + r`` holds, per
        source, the weight of the tap reading it with row shift ``r``
        (zero where no tap does)."""
        g, mg, _ = wp.shape
        wt = np.zeros((g, mg, nshift, nsrc), wp.dtype)
        for t, (src, shift) in enumerate(taps):
            wt[:, :, shift, src] = wp[:, :, t]
        return wt.reshape(g, mg * nshift, nsrc)

    def _depthwise(self, x, wp, y, kernel, strides, dilations, out, pb, pe, zero, post) -> None:
        """Depthwise conv on flattened images, three numpy steps per block:

        1. sources: the image, flattened, once per distinct shift ``h``
           within a row (3 copies for a 3x3 kernel; see ``_DepthwisePlan``
           for where they come from);
        2. one small GEMM per channel, ``(mg * row shifts) x sources`` times
           ``sources x positions``: every row shift's weighted sum at once;
        3. the row-shifted partial sums added up (2 adds for 3x3), straight
           into the output for the "flat" layout, else cropped to the output
           width by the epilogue.

        Against a copy per tap and a ``1 x taps`` GEMM this moves about half
        the memory (144 channels of 56x56: 0.81 against 1.29 ms).  Strided
        convs read polyphase sources, in which every tap is a stride-1 shift
        again."""
        b4, z4, act = post
        mg = wp.shape[1]
        nd = len(kernel)
        plan = self._depthwise_plan(x.shape, mg, wp.dtype.itemsize, kernel, strides, dilations, out, pb, pe)
        q, row, length, span, shifts = plan.q, plan.row, plan.length, plan.span, plan.shifts
        nsrc, nshift = len(plan.sources), len(shifts)
        wkey = ("dw_weights", tuple(kernel), tuple(strides), tuple(dilations), tuple(q))
        wt = self._plans.get(wkey) if self._packed is not None else None
        if wt is None:
            wt = self._depthwise_weights(wp, plan.taps, nsrc, nshift)
            if self._packed is not None:
                self._plans[wkey] = wt
        y5 = y.reshape((y.shape[0], wp.shape[0], mg) + tuple(out))
        z5 = None if z4 is None else z4.reshape(y5.shape)
        b5 = None if b4 is None else b4.reshape((1, wp.shape[0], mg) + (1,) * nd)
        scratch = self.scratch
        flat = plan.layout == "flat"

        def sources(xb, srcs) -> None:
            nb, gb = xb.shape[:2]
            if plan.layout == "direct":
                _copy_sources(xb, srcs.reshape(nb, gb, nsrc, span // q[1], q[1]), plan.specs, strides, zero)
                return
            if flat:
                # a work buffer (warm in cache) whose short borders are zeroed every time
                ph, _ = scratch.get("dwflat", (nb, gb, 1, plan.need), wp.dtype)
                front, inner = plan.front, q[0] * q[1]
                ph[:, :, 0, :front] = zero
                ph[:, :, 0, front:front + inner] = xb.reshape(nb, gb, inner)
                ph[:, :, 0, front + inner:] = zero
            elif all(s == 1 for s in strides):
                xp = pad_into(scratch, xb, pb, [pe[0] + plan.extra_rows] + list(pe[1:]), zero, key="dwpad")
                ph = xp.reshape(nb, gb, 1, -1)
            else:
                xp = pad_into(scratch, xb, pb, pe, zero)
                nph = prod(strides)
                # keyed by the padded extent too: unwritten phase cells stay `zero`
                ph, _ = scratch.get(("phases", tuple(plan.full), zero), (nb, gb, nph, q[0] + plan.extra_rows) + tuple(q[1:]),
                                    wp.dtype, zero)
                for p, phase in enumerate(np.ndindex(*strides)):
                    src = xp[(Ellipsis,) + tuple(slice(phase[i], None, strides[i]) for i in range(nd))]
                    ph[(slice(None), slice(None), p) + tuple(slice(0, src.shape[2 + i]) for i in range(nd))] = src
                ph = ph.reshape(nb, gb, nph, -1)
            for i, (phase, h) in enumerate(plan.sources):
                srcs[:, :, i] = ph[:, :, phase, h:h + span]
                if flat:
                    lo, hi = plan.valid[i]
                    grid = srcs[:, :, i].reshape(nb, gb, span // row, row)
                    if lo > 0:
                        grid[..., :lo] = zero
                    if hi < row:
                        grid[..., hi:] = zero

        def task(t: int) -> None:
            ns, g0, g1 = plan.blocks[t]
            xb = x[ns, g0:g1]
            nb, gb = xb.shape[:2]
            srcs, _ = scratch.get("dwsrc", (nb, gb, nsrc, span), wp.dtype)
            sources(xb, srcs)
            part, _ = scratch.get("dwpart", (nb, gb, mg * nshift, span), wp.dtype)
            np.matmul(wt[g0:g1], srcs, out=part)
            part = part.reshape(nb, gb, mg, nshift, span)
            dst = y5[ns, g0:g1]
            if flat:  # the sum lands in the output itself: no crop
                acc = dst.reshape(nb, gb, mg, length)
            elif nshift > 1:
                acc, _ = scratch.get("dwacc", (nb, gb, mg, length), wp.dtype)
            if nshift == 1:
                if flat:
                    np.copyto(acc, part[:, :, :, 0, :length])
                else:
                    acc = part[:, :, :, 0, :length]
            else:
                a, b = shifts[0] * row, shifts[1] * row
                np.add(part[:, :, :, 0, a:a + length], part[:, :, :, 1, b:b + length], out=acc)
                for r in range(2, nshift):
                    a = shifts[r] * row
                    acc += part[:, :, :, r, a:a + length]
            bias = None if b5 is None else b5[:, g0:g1]
            z = None if z5 is None else z5[ns, g0:g1]
            if flat:
                _epilogue(dst, None, bias, z, act)
            else:
                _epilogue(dst, acc.reshape((nb, gb, mg, out[0]) + tuple(q[1:]))[plan.crop], bias, z, act)

        parallel_for(len(plan.blocks), task)


def _source_spec(phase: int, h: int, strides, pb, in_hw, rows: int, cols: int):
    """Where source ``(phase, h)`` of a strided 2-D depthwise conv comes from.

    Source cell ``[a, b]`` is padded-input element ``(si*a + pi, sj*(b + h) + pj)``
    (``pi, pj`` the phase); returns the cell rectangle ``[a0, a1) x [b0, b1)``
    inside the input and the input row/column of its first cell.  Cells
    outside it are padding (or, at ``b >= cols - h``, feed only cropped
    output columns); all are set to the padding value."""
    si, sj = strides
    pi, pj = divmod(phase, sj)
    height, width = in_hw
    a0 = max(0, -(-(pb[0] - pi) // si))
    a1 = min(rows, (height - 1 + pb[0] - pi) // si + 1)
    b0 = max(0, -(-(pb[1] - pj) // sj) - h)
    b1 = min(cols - h, (width - 1 + pb[1] - pj) // sj + 1 - h)
    return a0, max(a0, a1), b0, max(b0, b1), si * a0 + pi - pb[0], sj * (b0 + h) + pj - pb[1]


def _copy_sources(x: np.ndarray, grid: np.ndarray, specs, strides, zero) -> None:
    """Fill the depthwise sources ``grid`` (N, C, sources, rows, cols)
    straight from ``x`` (N, C, H, W): one strided copy each, no padded copy
    of the image and no phase images in between."""
    si, sj = strides
    rows, cols = grid.shape[3:]
    for i, (a0, a1, b0, b1, r0, c0) in enumerate(specs):
        g = grid[:, :, i]
        if a0 > 0:
            g[:, :, :a0] = zero
        if a1 < rows:
            g[:, :, a1:] = zero
        if b0 > 0:
            g[:, :, a0:a1, :b0] = zero
        if b1 < cols:
            g[:, :, a0:a1, b1:] = zero
        if a1 > a0 and b1 > b0:
            g[:, :, a0:a1, b0:b1] = x[:, :, r0:r0 + (a1 - a0 - 1) * si + 1:si, c0:c0 + (b1 - b0 - 1) * sj + 1:sj]


@kernel("Conv")
class Conv(Kernel):
    act_name: str | None = None
    act_params: tuple = ()

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.core = ConvCore(attrs, ctx.const(1))
        b = ctx.const(2)
        self._bias = None if b is None else b.astype(compute_dtype(b.dtype))
        self.act = activation(self.act_name, self.act_params)

    def run(self, x, w, b=None, z=None):
        cdt = compute_dtype(x.dtype)
        bias = self._bias if self._bias is not None else b
        if bias is not None:
            bias = bias.astype(cdt, copy=False)
        if z is not None:
            z = z.astype(cdt, copy=False)
        y = self.core(x, w, cdt, bias=bias, z=z, act=self.act)
        return (y.astype(x.dtype, copy=False),)


@kernel("FusedConv", domain="com.microsoft")
class FusedConv(Conv):
    """Conv + optional residual ``Z`` + activation, as emitted by onnxruntime's
    (and litert's) fusion passes."""

    def __init__(self, attrs, ctx):
        self.act_name = attrs.get("activation") or None
        self.act_params = tuple(attrs.get("activation_params") or ())
        super().__init__(attrs, ctx)
