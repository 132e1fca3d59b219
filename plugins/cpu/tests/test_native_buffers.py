"""The library's buffers: 64-byte aligned, writable, of the asked size, small ones from numpy and large ones
mapped from the kernel under its default page policy (no huge-page advice, see ``buffers._MAPPED_FROM``)."""
import mmap

import numpy as np
import pytest

from litert_cpu.native import buffers


@pytest.mark.parametrize("count", [2, 7, 1000, buffers._MAPPED_FROM // 4 - 1, buffers._MAPPED_FROM // 4 + 3])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.uint32])
def test_aligned_empty_is_aligned_writable_and_sized(count, dtype):
    array = buffers.aligned_empty(count, dtype)
    assert array.shape == (count,) and array.dtype == dtype
    assert array.ctypes.data % buffers.ALIGN == 0
    array[...] = 3
    array[-1] = 5
    assert array[0] == 3 and array[-1] == 5


def test_large_buffers_are_mapped_and_small_ones_are_not():
    large = buffers.aligned_empty(buffers._MAPPED_FROM, np.uint8)
    small = buffers.aligned_empty(1024, np.uint8)
    assert isinstance(large.base, memoryview) and isinstance(large.base.obj, mmap.mmap)
    assert not isinstance(getattr(small.base, "obj", None), mmap.mmap)


def test_aligned_keeps_an_aligned_array_and_copies_others():
    base = buffers.aligned_empty(65, np.float32)
    base[:] = np.arange(65)
    assert buffers.aligned(base) is base
    shifted = base[1:]
    copy = buffers.aligned(shifted)
    assert copy.ctypes.data % buffers.ALIGN == 0 and np.array_equal(copy, shifted)
