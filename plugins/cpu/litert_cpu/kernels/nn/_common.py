"""Helpers shared by the nn kernels: activations, window geometry, padding,
compute dtypes and per-thread scratch buffers."""
from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Sequence

import numpy as np

from litert.activations import ACTIVATIONS as FUSED_ACTIVATIONS
from litert.limits import check_shape

# ---------------------------------------------------------------- activations
# The activations litert fuses are :data:`litert.activations.ACTIVATIONS`, with
# their parameter order and defaults; here each gets its in-place numpy form:
# applied to a float array IN PLACE, returning it, ``p`` every parameter in
# that table's order (defaults filled).


def _relu(x, p):
    # np.clip with two bounds is ~3x faster than np.maximum for float32 (numpy 2.x)
    if x.dtype.kind == "f":
        return np.clip(x, 0, np.inf, out=x)
    return np.maximum(x, 0, out=x)


def _tanh(x, p):
    return np.tanh(x, out=x)


def _sigmoid(x, p):
    # numpy's SIMD exp beats numexpr here (measured 5x on float32)
    with np.errstate(over="ignore"):
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1
        return np.reciprocal(x, out=x)


def _leaky_relu(x, p):
    alpha = x.dtype.type(p[0])
    np.multiply(x, np.where(x < 0, alpha, x.dtype.type(1)), out=x)
    return x


def _clip(x, p):
    return np.clip(x, p[0], p[1], out=x)


def _hard_sigmoid(x, p):
    x *= x.dtype.type(p[0])
    x += x.dtype.type(p[1])
    return np.clip(x, 0, 1, out=x)


_IN_PLACE = {"Relu": _relu, "Tanh": _tanh, "Sigmoid": _sigmoid, "LeakyRelu": _leaky_relu, "Clip": _clip,
             "HardSigmoid": _hard_sigmoid}

#: op_type -> in-place ``fn(x, params)``, for exactly the activations of the core table
ACTIVATIONS: dict[str, Callable[[np.ndarray, Sequence[float]], np.ndarray]] = {
    name: _IN_PLACE[name] for name in FUSED_ACTIVATIONS
}


def activation(name: str | None, params: Sequence[float] = ()) -> Callable[[np.ndarray], np.ndarray] | None:
    """An in-place activation function of one array, or None for no activation;
    ``params`` may leave out trailing parameters (their defaults apply)."""
    if not name:
        return None
    if name not in FUSED_ACTIVATIONS:
        raise ValueError(f"unsupported fused activation {name!r} (supported: {', '.join(FUSED_ACTIVATIONS)})")
    fn = ACTIVATIONS[name]
    full = FUSED_ACTIVATIONS[name].complete(params)
    return lambda x: fn(x, full)


# ---------------------------------------------------------------- dtypes
def _widens(dtype: np.dtype) -> bool:
    """float16 and bfloat16 (told by name: an ``ml_dtypes`` import only for this would cost every load ~4 ms)."""
    return dtype == np.float16 or dtype.name == "bfloat16"


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype BLAS-backed work is done in: float16/bfloat16 widen to float32."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if _widens(dtype) else dtype


def lowest(dtype: np.dtype):
    """The fill value that never wins a max."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" or _widens(dtype):
        return -np.inf
    return np.iinfo(dtype).min


# ---------------------------------------------------------------- geometry
def window_geometry(
    in_shape: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    auto_pad: str = "NOTSET",
    ceil_mode: bool = False,
) -> tuple[list[int], list[int], list[int]]:
    """Output spatial shape and the begin/end pads of a sliding-window op.

    ``pads`` is ONNX-ordered ``[b1, b2, ..., e1, e2, ...]``. With ceil_mode the
    last window must start inside the (begin-padded) input, as in PyTorch.
    """
    nd = len(in_shape)
    out, pb, pe = [], [], []
    for i in range(nd):
        n, k, s, d = in_shape[i], kernel[i], strides[i], dilations[i]
        ek = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-n // s)
            total = max(0, (o - 1) * s + ek - n)
            small = total // 2
            b = small if auto_pad == "SAME_UPPER" else total - small
            out.append(o)
            pb.append(b)
            pe.append(total - b)
            continue
        if auto_pad == "VALID":
            b = e = 0
        else:
            b, e = (pads[i], pads[i + nd]) if pads else (0, 0)
        span = n + b + e - ek
        if ceil_mode:
            o = -(-span // s) + 1
            if (o - 1) * s >= n + b:
                o -= 1
        else:
            o = span // s + 1
        out.append(max(o, 0))
        pb.append(b)
        pe.append(e)
    return out, pb, pe


def reaching_taps(n: int, k: int, s: int, d: int, pb: int, out: int) -> tuple[int, int]:
    """First tap and tap count of the part of a ``k``-tap window (stride ``s``, dilation ``d``, begin pad ``pb``)
    that can touch an input of extent ``n`` in any of the ``out`` windows.

    Tap ``t`` of window ``o`` reads position ``o*s - pb + t*d``.  Taps that lie in the padding for every window
    add nothing to a max (fill -inf), a sum or an Lp norm (fill 0), so the pools drop them: a file's 3 x 32768
    window over a 10 x 10 map then costs its 3 x 20 reaching taps, not 98,304 per output.  Kept windows start
    at begin pad ``pb - first * d``, which stays >= 0 (``first`` rounds down).
    """
    if out <= 0 or k <= 0:
        return 0, min(max(k, 0), 1)
    first = max(0, (pb - (out - 1) * s) // d)
    last = min(k - 1, (n - 1 + pb) // d)
    if last < first:  # no tap ever reaches the input: one tap of padding per window
        first = min(first, k - 1)
        return first, 1
    return first, last - first + 1


def spatial_attrs(attrs: dict, nd: int):
    """strides, dilations, pads lists of length nd / 2*nd with defaults."""
    strides = list(attrs.get("strides") or [1] * nd)
    dilations = list(attrs.get("dilations") or [1] * nd)
    pads = list(attrs.get("pads") or [0] * (2 * nd))
    return strides, dilations, pads


# ---------------------------------------------------------------- scratch
class Scratch(threading.local):
    """Per-thread reusable buffers.

    Reusing big buffers avoids page-faulting fresh memory on every run; being
    thread-local keeps concurrent inferences safe.  One instance
    (:data:`SCRATCH`) is shared by all nn kernels.  Kernels never return a
    scratch buffer (or a view of one).

    Two kinds:

    * plain work buffers (no ``fill``): one flat buffer per name and dtype,
      grown to the largest shape asked for, handed out as a view of its
      start.  Every node then works in the same memory, which the previous
      node left in cache: with a buffer per shape, the first depthwise conv
      of each MobileNetV2 stage (a shape last touched one run ago) ran 1.5-2x
      slower than the identical ones after it.
    * ``fill``-ed buffers (padded images whose border is filled once and kept):
      one per name, shape and dtype, the least recently used dropped past
      ``limit`` bytes.
    """

    def __init__(self, limit: int = 256 << 20):
        self.bufs: dict = {}
        self.work: dict = {}
        self.limit = limit
        self.size = 0

    def get(self, key, shape, dtype, fill=None) -> tuple[np.ndarray, bool]:
        """(buffer, fresh): ``fresh`` is True when it was just allocated."""
        dtype = np.dtype(dtype)
        if fill is None:
            count = math.prod(shape)
            flat = self.work.get((key, dtype))
            fresh = flat is None or flat.size < count
            if flat is None or fresh:
                flat = self.work[(key, dtype)] = np.empty(count, dtype)
            return flat[:count].reshape(shape), fresh
        k = (key, tuple(shape), dtype)
        buf = self.bufs.pop(k, None)
        if buf is not None:
            self.bufs[k] = buf  # most recently used goes last
            return buf, False
        buf = np.full(shape, fill, dtype)
        self.bufs[k] = buf
        self.size += buf.nbytes
        while self.size > self.limit and len(self.bufs) > 1:
            old = next(iter(self.bufs))
            self.size -= self.bufs.pop(old).nbytes
        return buf, True


SCRATCH = Scratch()


class _Recycler:
    """Reuses big output arrays once nobody holds them any more.

    glibc serves allocations above 32 MiB with a fresh mmap every time, and
    first-touching it page-faults every page: a 38 MiB conv output cost 4.8 ms
    to allocate and fill against 1.5 ms for a reused one.  Arrays handed out
    here stay in a small pool; one is handed out again only when the pool's
    own reference is the last one (the executor released it, no view of it is
    alive, the caller did not keep it), checked with ``sys.getrefcount``.
    """

    def __init__(self, min_bytes: int = 32 << 20, limit: int = 1 << 30):
        self.min_bytes = min_bytes
        self.limit = limit
        self.pool: list[np.ndarray] = []
        self.lock = threading.Lock()

    def empty(self, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        shape = tuple(shape)
        if prod(shape) * dtype.itemsize < self.min_bytes:
            return np.empty(shape, dtype)
        with self.lock:
            for i in range(len(self.pool)):  # not enumerate(): its cached tuple holds a reference
                arr = self.pool[i]
                # references: the pool, ``arr``, getrefcount's argument
                if arr.shape == shape and arr.dtype == dtype and sys.getrefcount(arr) == 3:
                    self.pool.append(self.pool.pop(i))  # most recently used last
                    return arr
            arr = np.empty(shape, dtype)
            self.pool.append(arr)
            while sum(a.nbytes for a in self.pool) > self.limit and len(self.pool) > 1:
                self.pool.pop(0)
            return arr


#: ``RECYCLER.empty(shape, dtype)``: np.empty for kernel outputs that may be big
RECYCLER = _Recycler()


def pad_into(scratch: Scratch | None, x: np.ndarray, pb: Sequence[int], pe: Sequence[int], fill=0, key="pad") -> np.ndarray:
    """``x`` padded on its trailing ``len(pb)`` axes (negative pads crop).

    With a ``scratch``, the padded buffer is reused across runs: its border is
    filled once and only the interior is copied each time.  The padded shape is
    checked against the memory limit first: pads can turn an empty tensor (a
    zero-length axis next to a 2^25 batch) into gigabytes.
    """
    nd = len(pb)
    if not any(pb) and not any(pe):
        return x
    lead = x.ndim - nd
    src = [slice(None)] * lead
    dst = [slice(None)] * lead
    shape = list(x.shape[:lead])
    for i in range(nd):
        n = x.shape[lead + i]
        b, e = pb[i], pe[i]
        shape.append(n + b + e)
        src.append(slice(max(0, -b), n - max(0, -e)))
        dst.append(slice(max(0, b), max(0, b) + n - max(0, -b) - max(0, -e)))
    check_shape(shape, x.dtype.itemsize, "a padded copy")
    if scratch is None:
        out = np.full(shape, fill, x.dtype)
    else:
        out, _ = scratch.get((key, fill, tuple(pb), tuple(pe)), shape, x.dtype, fill=fill)
    out[tuple(dst)] = x[tuple(src)]
    return out


def axis_slice(start: int, count: int, step: int) -> slice:
    """``count`` elements from ``start`` every ``step`` (never wrapping)."""
    return slice(start, start + (count - 1) * step + 1 if count > 0 else start, step)


def tap_slices(out_shape: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]):
    """Yield ``(tap_index_tuple, slices)`` over all kernel taps: ``slices``
    selects, in a padded input, the input element each output position sees
    through that tap."""
    nd = len(kernel)
    for taps in np.ndindex(*kernel):
        sl = tuple(axis_slice(taps[i] * dilations[i], out_shape[i], strides[i]) for i in range(nd))
        yield taps, sl


def windows(
    xp: np.ndarray, out_shape: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> np.ndarray:
    """Read-only strided view ``(*lead, *out_shape, *kernel)`` of padded ``xp``."""
    nd = len(kernel)
    lead = xp.ndim - nd
    st = xp.strides
    shape = tuple(xp.shape[:lead]) + tuple(out_shape) + tuple(kernel)
    strides_ = (
        tuple(st[:lead])
        + tuple(st[lead + i] * strides[i] for i in range(nd))
        + tuple(st[lead + i] * dilations[i] for i in range(nd))
    )
    return np.lib.stride_tricks.as_strided(xp, shape, strides_, writeable=False)


def prod(xs) -> int:
    return int(math.prod(xs))


def scatter_add_taps(cols: np.ndarray, out: np.ndarray, kernel, strides, dilations, offset) -> None:
    """col2im: add ``cols`` of shape ``(*lead, *kernel, *blocks)`` into ``out``
    (``(*lead, *spatial)``): block ``b`` seen through tap ``t`` lands at
    ``offset + b * stride + t * dilation`` on every spatial axis."""
    nd = len(kernel)
    blocks = cols.shape[cols.ndim - nd:]
    lead = (slice(None),) * (out.ndim - nd)
    for taps in np.ndindex(*kernel):
        sl = tuple(axis_slice(offset[i] + taps[i] * dilations[i], blocks[i], strides[i]) for i in range(nd))
        out[lead + sl] += cols[lead + taps]
