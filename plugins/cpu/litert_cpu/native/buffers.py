"""Buffers the kernel library reads, on 64-byte boundaries.

The kernels' vector loads of weights then never split a cache line (measured: the LSTM's recurrent weights at a
16-byte offset ran 1.9x slower, in whichever process the allocator placed them so). numpy aligns to 16 bytes.
"""

import mmap

import numpy as np

ALIGN = 64


#: buffers from this size up are mapped from the kernel directly (an anonymous map, the kernel's default page
#: policy, as a C allocator's large blocks are): numpy advises huge pages for its arrays of 4 MB and up, and
#: with transparent huge pages' default ``defrag=madvise`` every first touch of such an array may compact
#: memory synchronously, which dominated the load of models with large weights.
_MAPPED_FROM = 1 << 22


def aligned_empty(count: int, dtype=np.float32) -> np.ndarray:
    """An uninitialised 1-D array of ``count`` items starting on a 64-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    if count * itemsize >= _MAPPED_FROM:
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
