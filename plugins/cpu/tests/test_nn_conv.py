"""Conv / FusedConv fast paths against a naive direct convolution."""
from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import litert_cpu.kernels  # noqa: E402,F401
from litert_cpu.kernels._base import KernelContext  # noqa: E402
from litert_cpu.kernels._registry import KERNELS  # noqa: E402


def naive_conv(x, w, b, strides, dilations, pb, pe, group):
    """Direct loops over output positions, float64."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, c = x.shape[:2]
    m = w.shape[0]
    nd = x.ndim - 2
    k = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pb[i], pe[i]) for i in range(nd)])
    out = [(xp.shape[2 + i] - ((k[i] - 1) * dilations[i] + 1)) // strides[i] + 1 for i in range(nd)]
    y = np.zeros((n, m) + tuple(out))
    cg, mg = c // group, m // group
    for o in itertools.product(*[range(v) for v in out]):
        sl = tuple(
            slice(o[i] * strides[i], o[i] * strides[i] + (k[i] - 1) * dilations[i] + 1, dilations[i]) for i in range(nd)
        )
        patch = xp[(slice(None), slice(None)) + sl]  # (n, c, *k)
        for gi in range(group):
            pg = patch[:, gi * cg:(gi + 1) * cg].reshape(n, -1)
            wg = w[gi * mg:(gi + 1) * mg].reshape(mg, -1)
            y[(slice(None), slice(gi * mg, (gi + 1) * mg)) + o] = pg @ wg.T
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nd)
    return y


def run_conv(x, w, b, attrs, const=True, op="Conv", domain=""):
    full = {"group": 1, "auto_pad": "NOTSET"}
    full.update(attrs)
    ctx = KernelContext(op, domain=domain, consts=[None, w if const else None, b if const else None])
    return KERNELS[(domain, op)](full, ctx).run(x, w, b)[0]


def _cases():
    rng = np.random.default_rng(0)
    cases = []
    for i in range(40):
        nd = int(rng.choice([1, 2, 2, 2, 3]))
        kind = rng.choice(["plain", "group", "depthwise", "pointwise", "depthmult"])
        n = int(rng.integers(1, 3))
        group = 1
        if kind == "plain":
            c, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        elif kind == "group":
            group = int(rng.integers(2, 4))
            c, m = group * int(rng.integers(1, 3)), group * int(rng.integers(1, 3))
        elif kind == "depthwise":
            c = m = group = int(rng.integers(2, 6))
        elif kind == "depthmult":
            c = group = int(rng.integers(2, 4))
            m = c * 2
        else:
            c, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        k = [1] * nd if kind == "pointwise" else [int(v) for v in rng.integers(1, 4, nd)]
        strides = [int(v) for v in rng.integers(1, 3, nd)] if i % 3 else [1] * nd
        dilations = [int(v) for v in rng.integers(1, 3, nd)] if i % 4 == 1 else [1] * nd
        pads = [int(v) for v in rng.integers(0, 3, 2 * nd)] if i % 2 else [0] * (2 * nd)
        sp = [int(v) for v in rng.integers(5, 9 if nd < 3 else 6, nd)]
        cases.append((n, c, m, group, sp, k, strides, dilations, pads))
    return cases


def _random_operands(case, seed):
    """The generator (to draw more from), x, w, b, the Conv attributes of a :func:`_cases` case, and the
    naive reference output."""
    n, c, m, group, sp, k, strides, dilations, pads = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, *sp)).astype(np.float32)
    w = rng.standard_normal((m, c // group, *k)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    nd = len(sp)
    attrs = {"group": group, "strides": strides, "dilations": dilations, "pads": pads, "kernel_shape": k}
    return rng, x, w, b, attrs, naive_conv(x, w, b, strides, dilations, pads[:nd], pads[nd:], group)


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("const", [True, False])
def test_conv_random(case, const):
    _, x, w, b, attrs, ref = _random_operands(case, seed=1)
    got = run_conv(x, w, b, attrs, const)
    assert got.dtype == np.float32
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    # second run reuses the scratch buffers
    np.testing.assert_allclose(run_conv(x, w, b, attrs, const), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_auto_pad(auto_pad, stride):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 3, 7, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    got = run_conv(x, w, None, {"auto_pad": auto_pad, "strides": [stride, stride]})
    pb, pe = [0, 0], [0, 0]
    if auto_pad != "VALID":
        for i, (size, kk) in enumerate(zip((7, 8), (3, 2))):
            out = -(-size // stride)
            total = max(0, (out - 1) * stride + kk - size)
            lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            pb[i], pe[i] = lo, total - lo
    ref = naive_conv(x, w, None, [stride] * 2, [1, 1], pb, pe, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_conv_float16_and_fused():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 6, 6)).astype(np.float16)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float16)
    got = run_conv(x, w, None, {"group": 4, "pads": [1, 1, 1, 1]})
    assert got.dtype == np.float16
    ref = naive_conv(x, w, None, [1, 1], [1, 1], [1, 1], [1, 1], 4)
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=1e-2, atol=1e-2)

    x = x.astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    attrs = {"pads": [1, 1, 1, 1], "activation": "LeakyRelu", "activation_params": [0.1]}
    got = run_conv(x, w, b, attrs, op="FusedConv", domain="com.microsoft")
    ref = naive_conv(x, w, b, [1, 1], [1, 1], [1, 1], [1, 1], 1)
    ref = np.where(ref < 0, 0.1 * ref, ref)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def _depthwise_cases():
    """2-D depthwise geometries over the three source layouts of the kernel:
    "flat" (stride 1, width kept), direct strided copies, padded fallback."""
    cases = []
    for k in (1, 2, 3, 5):
        for stride in (1, 2, 3):
            for dilation in (1, 2):
                for pads in ([0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3], [k // 2 * dilation] * 4):
                    cases.append((k, stride, dilation, pads))
    return cases


@pytest.mark.parametrize("mult", [1, 2])
def test_depthwise_geometries(mult):
    rng = np.random.default_rng(6)
    for k, stride, dilation, pads in _depthwise_cases():
        for h, w_ in ((7, 9), (8, 8)):
            if (k - 1) * dilation + 1 > min(h + pads[0] + pads[2], w_ + pads[1] + pads[3]):
                continue
            x = rng.standard_normal((2, 3, h, w_)).astype(np.float32)
            w = rng.standard_normal((3 * mult, 1, k, k)).astype(np.float32)
            b = rng.standard_normal(3 * mult).astype(np.float32)
            attrs = {"group": 3, "strides": [stride] * 2, "dilations": [dilation] * 2, "pads": pads}
            ref = naive_conv(x, w, b, [stride] * 2, [dilation] * 2, pads[:2], pads[2:], 3)
            for _ in range(2):  # the second run reuses the scratch buffers
                got = run_conv(x, w, b, attrs)
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4,
                                           err_msg=f"k={k} stride={stride} dilation={dilation} pads={pads} {h}x{w_}")


def test_shared_scratch_between_geometries():
    """Kernels share scratch buffers; inputs whose padded/phase buffers have
    equal shapes but different extents must not see each other's data."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    for size, pads in ((9, [1, 1, 1, 1]), (8, [1, 1, 2, 2]), (9, [2, 2, 0, 0]), (8, [1, 1, 1, 1])):
        x = (rng.standard_normal((1, 3, size, size)) * 100).astype(np.float32)
        attrs = {"group": 3, "strides": [2, 2], "pads": pads}
        got = run_conv(x, w, None, attrs)
        ref = naive_conv(x, w, None, [2, 2], [1, 1], pads[:2], pads[2:], 3)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("case", _cases()[::2])
def test_conv_random_in_tasks(case, monkeypatch):
    """Every path cut into the smallest tasks and run on two threads, with a
    residual and an activation applied by the tasks' epilogues."""
    from litert_cpu.kernels.nn import conv as conv_module
    from litert_cpu.threads import limit

    for name, value in (("PARALLEL_MACS", 0), ("_DW_PARALLEL", 0), ("_DW_BLOCK_BYTES", 64), ("_COLS_BYTES", 64)):
        monkeypatch.setattr(conv_module, name, value)
    rng, x, w, b, attrs, ref = _random_operands(case, seed=5)
    z = rng.standard_normal(ref.shape).astype(np.float32)
    attrs["activation"] = "Relu"
    ctx = KernelContext("FusedConv", domain="com.microsoft", consts=[None, w, b])
    kern = KERNELS[("com.microsoft", "FusedConv")]({"auto_pad": "NOTSET", **attrs}, ctx)
    with limit(2):
        for _ in range(2):
            got = kern.run(x, w, b, z)[0]
            np.testing.assert_allclose(got, np.maximum(ref + z, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("size,pads", [((9, 11), [1, 1, 1, 1]), ((8, 8), [0, 0, 0, 0]), ((10, 7), [2, 0, 1, 2])])
def test_winograd_against_naive(tile, size, pads, monkeypatch):
    """Both tile sizes, output sizes that are not whole tiles, asymmetric pads,
    two images, bias + residual + activation, and blocks run as tasks."""
    from litert_cpu.kernels.nn import winograd
    from litert_cpu.threads import limit

    monkeypatch.setattr(winograd, "_BLOCK_BYTES", 64)  # one tile row per block
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, *size)).astype(np.float32)
    w = rng.standard_normal((7, 5, 3, 3)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    ref = naive_conv(x, w, b, [1, 1], [1, 1], pads[:2], pads[2:], 1)
    z = rng.standard_normal(ref.shape).astype(np.float32)
    y = np.empty(ref.shape, np.float32)
    with limit(2):
        winograd.Winograd(w, tile)(x, y, pads[:2], b, z, lambda v: np.maximum(v, 0, out=v))
    np.testing.assert_allclose(y, np.maximum(ref + z, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size,tile", [(12, 2), (28, 2), (7, None)])
def test_conv_picks_winograd_by_shape(size, tile):
    """Through the Conv kernel: Winograd where it pays, the same result."""
    from litert_cpu.kernels.nn.winograd import choose_tile

    assert choose_tile(1, 32, 32, (size, size)) == tile
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 32, size, size)).astype(np.float32)
    w = (rng.standard_normal((32, 32, 3, 3)) / 17).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    got = run_conv(x, w, b, {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]})
    ref = naive_conv(x, w, b, [1, 1], [1, 1], [1, 1], [1, 1], 1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
