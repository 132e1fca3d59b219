"""Buffers the kernel library reads, on 64-byte boundaries.

The kernels' vector loads of weights then never split a cache line (measured: the LSTM's recurrent weights at a
16-byte offset ran 1.9x slower, in whichever process the allocator placed them so). numpy aligns to 16 bytes.
"""

import numpy as np

ALIGN = 64


#: buffers from this size up are mapped from the kernel directly (an anonymous map, the kernel's default page
#: policy, as a C allocator's large blocks are) instead of numpy's arrays, which numpy advises into transparent
#: huge pages: with THP's default ``defrag=madvise`` the first touch of such memory may compact memory
#: synchronously, which made VGG-19's load (411 MB and 67 MB classifier weights) 1.6-3.0 s, 1.1-1.2 s without.
#: Smaller buffers keep the huge pages: convolution weights are read again and again from cache, where 4 KB
#: pages' TLB misses cost ResNet-50 4-5% of its run (its largest, a Winograd-transformed 512 x 512 3x3, is
#: 38 MB); a classifier's weights stream through once per run (ZFNet's 151 MB: ~3% slower on 4 KB pages).
_MAPPED_FROM = 64 << 20


def aligned_empty(count: int, dtype=np.float32) -> np.ndarray:
    """An uninitialised 1-D array of ``count`` items starting on a 64-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    if count * itemsize >= _MAPPED_FROM:
        import mmap  # here: only a classifier's weights are this large (~0.25 ms of a first load's imports)

        return np.frombuffer(mmap.mmap(-1, count * itemsize), dtype)  # page-aligned
    raw = np.empty(count * itemsize + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + count * itemsize].view(dtype)


def aligned(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it is C-contiguous on a 64-byte boundary, else such a copy of it."""
    array = np.asarray(array)
    if array.flags.c_contiguous and array.ctypes.data % ALIGN == 0:
        return array
    out = aligned_empty(array.size, array.dtype).reshape(array.shape)
    out[...] = array
    return out
