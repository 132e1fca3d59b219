"""The native int8 GEMM (litert_qkernels.h): VNNI path, portable path and numpy give the same integers on
random odd shapes, zero points and both activation types; the quantised kernels that use it stay exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from litert_cpu.native import module, status

lib = module()
pytestmark = pytest.mark.skipif(lib is None or not hasattr(lib, "qgemm_u8s8"),
                                reason=f"native int8 kernels inactive: {status().detail}")

SHAPES = [(1, 1, 1), (1, 16, 4), (3, 17, 5), (4, 15, 3), (7, 33, 131), (5, 1, 257), (64, 48, 96), (2, 100, 7)]


def _reference(a, a_zero, b, b_zero):
    return ((a.astype(np.int64) - a_zero) @ (b.astype(np.int64) - b_zero)).astype(np.int32)


@pytest.mark.parametrize("m, n, k", SHAPES)
@pytest.mark.parametrize("zeros", ["none", "activation", "both"])
def test_native_qgemm_is_exact(m, n, k, zeros):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    a_zero = 0 if zeros == "none" else int(rng.integers(0, 256))
    b_zero = rng.integers(-20, 20, n).astype(np.int32) if zeros == "both" else None
    expected = _reference(a, a_zero, b, 0 if b_zero is None else b_zero)
    for portable in (False, True):
        c = np.full((m, n), -1, np.int32)
        lib.qgemm_u8s8(a, b, c, m, n, k, a_zero, b_zero, portable)
        np.testing.assert_array_equal(c, expected, err_msg=f"portable={portable}")


def test_vnni_is_reported_on_this_cpu():
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.exists() else ""
    assert lib.qgemm_vnni_available() == (" avx512_vnni" in flags and " avx512bw" in flags)


def test_bad_buffers_raise():
    a = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match="b has 4 bytes, expected 6"):
        lib.qgemm_u8s8(a, np.zeros(4, np.int8), np.zeros((2, 2), np.int32), 2, 2, 3, 0, None, False)


@pytest.mark.parametrize("a_dtype", [np.uint8, np.int8])
def test_int_matmul_uses_native_and_matches_numpy(a_dtype):
    from litert_cpu.kernels.nn.qlinear import _int_matmul, _native_int_matmul

    rng = np.random.default_rng(5)
    info = np.iinfo(a_dtype)
    a = rng.integers(info.min, info.max + 1, (9, 37)).astype(a_dtype)
    b = rng.integers(-128, 128, (37, 11)).astype(np.int8)
    a_zero = np.array(3, a_dtype)
    b_zero = rng.integers(-3, 3, 11).astype(np.int8)
    native = _native_int_matmul(a, b, a_zero, b_zero)
    assert native is not None
    expected = _reference(a, int(a_zero), b, b_zero.astype(np.int64))
    np.testing.assert_array_equal(native, expected)
    np.testing.assert_array_equal(_int_matmul(a, b, a_zero, b_zero), expected.astype(np.float64))


@pytest.mark.parametrize("attrs", [{"pads": [1, 2, 0, 1]}, {"strides": [2, 3], "dilations": [1, 2]}])
def test_native_conv_matches_the_float64_path(attrs):
    from litert_cpu.kernels._base import KernelContext
    from litert_cpu.kernels.nn.qlinear import ConvInteger, _native_conv2d

    rng = np.random.default_rng(11)
    x = rng.integers(0, 256, (2, 3, 8, 13)).astype(np.uint8)
    w = rng.integers(-128, 128, (5, 3, 3, 2)).astype(np.int8)
    x_zero, w_zero = np.array(17, np.uint8), np.array([1, -2, 0, 3, 4], np.int8)
    native = _native_conv2d(x, x_zero, w, w_zero, attrs)
    assert native is not None
    full = {"group": 1, "auto_pad": "NOTSET", "kernel_shape": [3, 2], **attrs}
    reference = ConvInteger(full, KernelContext("ConvInteger")).run(x, w, x_zero, w_zero)[0]
    np.testing.assert_array_equal(native, reference)
