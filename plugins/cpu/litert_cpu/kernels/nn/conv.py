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
#: GEMM pieces write at most about this much output each, so that the
#: epilogue finds it in cache
_GEMM_PIECE_BYTES = 8 << 20
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
        """(images, groups, rows, columns) slices of the output, one per task:
        whole images while they are small, else column blocks of about
        ``_GEMM_PIECE_BYTES``; at least one per thread when the product is big."""
        threads = current_threads()
        key = ("gemm", n, g, mg, p, kk, threads)
        pieces = self._plans.get(key)
        if pieces is not None:
            return pieces
        full = slice(None)
        image = g * mg * p * itemsize
        parallel = threads > 1 and n * g * mg * p * kk >= PARALLEL_MACS * threads
        if image * n <= _GEMM_PIECE_BYTES and not parallel:
            pieces = [(full, full, full, full)]
        elif image <= _GEMM_PIECE_BYTES and n >= (threads if parallel else 1):
            per = max(1, min(_GEMM_PIECE_BYTES // image, n // (threads if parallel else 1)))
            pieces = [(slice(a, min(n, a + per)), full, full, full) for a in range(0, n, per)]
        else:
            count = max(-(-image // _GEMM_PIECE_BYTES), -(-threads // n) if parallel else 1)
            if p >= mg:
                pieces = [(slice(i, i + 1), full, full, slice(a, b)) for i in range(n) for a, b in split(p, count, 16)]
            else:  # few output positions, many channels: cut the channels
                pieces = [(slice(i, i + 1), full, slice(a, b), full) for i in range(n) for a, b in split(mg, count, 4)]
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
        """Geometry of the flattened depthwise conv, cached per input shape:
        phase-image sizes, extra end padding, (phase, offset) per tap, and
        the (images, channels) blocks that are the tasks."""
        threads = current_threads()
        key = ("dw", x_shape, tuple(kernel), threads)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        nd = len(kernel)
        n, g = x_shape[:2]
        full = [x_shape[2 + i] + pb[i] + pe[i] for i in range(nd)]
        q = [-(-full[i] // strides[i]) for i in range(nd)]
        sizes = [prod(q[i + 1:]) for i in range(nd)]
        reach = [(kernel[i] - 1) * dilations[i] // strides[i] for i in range(nd)]
        slack = sum(reach[i] * sizes[i] for i in range(1, nd))
        extra = -(-slack // sizes[0]) if nd > 1 else 0
        taps = []
        for tap in np.ndindex(*kernel):
            pos = [tap[j] * dilations[j] for j in range(nd)]
            phase = int(np.ravel_multi_index([p % s for p, s in zip(pos, strides)], strides))
            taps.append((phase, sum((pos[j] // strides[j]) * sizes[j] for j in range(nd))))
        crop = (Ellipsis,) + tuple(slice(0, o) for o in out[1:])
        # tasks: blocks of channels (of images when small) whose tap columns
        # stay in the cache; at least one per thread
        per_channel = len(taps) * out[0] * sizes[0] * itemsize
        cb = min(g, max(1, _DW_BLOCK_BYTES // per_channel))
        ib = min(n, max(1, _DW_BLOCK_BYTES // (per_channel * g))) if cb == g else 1
        count = -(-g // cb)
        if threads > 1 and n * g * mg * prod(out) >= _DW_PARALLEL:
            if -(-n // ib) * count < threads:
                ib = 1
            if n * count < threads:
                count = min(g, -(-threads // n))
        blocks = [(slice(i, min(n, i + ib)), a, b) for i in range(0, n, ib) for a, b in split(g, count)]
        plan = (full, q, extra, taps, out[0] * sizes[0], crop, blocks)
        self._plans[key] = plan
        return plan

    def _depthwise(self, x, wp, y, kernel, strides, dilations, out, pb, pe, zero, post) -> None:
        """Depthwise conv on flattened images: every tap is then one contiguous
        shifted slice of length ``out[0] * row``; the slices are stacked and
        reduced with one batched GEMM.  Columns past the output width are
        computed, then cropped by the epilogue.

        Strided convs are first split into ``prod(strides)`` phase images
        (polyphase), in which every tap is again a stride-1 shift."""
        b4, z4, act = post
        mg = wp.shape[1]
        nd = len(kernel)
        full, q, extra, taps, length, crop, blocks = self._depthwise_plan(x.shape, mg, wp.dtype.itemsize, kernel, strides, dilations, out, pb, pe)
        stride1 = all(s == 1 for s in strides)
        wt = wp.reshape(1, wp.shape[0], mg, -1)  # (1, G, mg, taps)
        y5 = y.reshape((y.shape[0], wp.shape[0], mg) + tuple(out))
        z5 = None if z4 is None else z4.reshape(y5.shape)
        b5 = None if b4 is None else b4.reshape((1, wp.shape[0], mg) + (1,) * nd)
        scratch = self.scratch

        def task(t: int) -> None:
            ns, g0, g1 = blocks[t]
            xb = x[ns, g0:g1]
            nb, gb = xb.shape[:2]
            if stride1:
                xp = pad_into(scratch, xb, pb, [pe[0] + extra] + list(pe[1:]), zero, key="dwpad")
                ph = xp.reshape(nb, gb, 1, 1, -1)
            else:
                xp = pad_into(scratch, xb, pb, pe, zero)
                nph = prod(strides)
                # keyed by the padded extent too: unwritten phase cells stay `zero`
                ph, _ = scratch.get(("phases", tuple(full), zero), (nb, gb, nph, q[0] + extra) + tuple(q[1:]), wp.dtype, zero)
                for p, phase in enumerate(np.ndindex(*strides)):
                    src = xp[(Ellipsis,) + tuple(slice(phase[i], None, strides[i]) for i in range(nd))]
                    ph[(slice(None), slice(None), p) + tuple(slice(0, src.shape[2 + i]) for i in range(nd))] = src
                ph = ph.reshape(nb, gb, 1, nph, -1)
            # the taps' shifted slices side by side, then one small GEMM per
            # channel: (mg x taps) @ (taps x length); measured 1.1-2x faster
            # than a multiply-add pass per tap (numpy's broadcast multiply is slow)
            cols, _ = scratch.get("dwcols", (nb, gb, len(taps), length), wp.dtype)
            for i, (phase, off) in enumerate(taps):
                cols[:, :, i] = ph[:, :, 0, phase, off:off + length]
            acc, _ = scratch.get("dwacc", (nb, gb, mg, length), wp.dtype)
            np.matmul(wt[0, g0:g1], cols, out=acc)
            res = acc.reshape((nb, gb, mg, out[0]) + tuple(q[1:]))[crop]
            _epilogue(y5[ns, g0:g1], res, None if b5 is None else b5[:, g0:g1],
                      None if z5 is None else z5[ns, g0:g1], act)

        parallel_for(len(blocks), task)


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
