"""Buffers the kernel library reads, on 64-byte boundaries.

The kernels' vector loads of weights then never split a cache line (measured: the LSTM's recurrent weights at a
16-byte offset ran 1.9x slower, in whichever process the allocator placed them so). numpy aligns to 16 bytes.
"""

import numpy as np

ALIGN = 64


def aligned_empty(count: int, dtype=np.float32) -> np.ndarray:
    """An uninitialised 1-D array of ``count`` items starting on a 64-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
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
