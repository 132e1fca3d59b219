"""Tensor-family fast paths vs naive references, views, and random-op contracts."""

from __future__ import annotations

import numpy as np
import pytest

import litert_cpu.kernels  # noqa: F401
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS
from litert_cpu.kernels.tensor.sort import topk

RNG = np.random.default_rng(1)


def make(op, attrs=None, consts=(), num_outputs=1, domain="", shapes=()):
    ctx = KernelContext(
        op_type=op, domain=domain, opset=21, consts=list(consts), input_shapes=list(shapes), num_outputs=num_outputs
    )
    return KERNELS[(domain, op)](dict(attrs or {}), ctx)


def naive_topk(x, k, axis, largest):
    """Per-row Python sort with the ONNX tie rule (ties by ascending index)."""
    moved = np.moveaxis(x, axis, -1)
    vals = np.empty(moved.shape[:-1] + (k,), x.dtype)
    idx = np.empty(moved.shape[:-1] + (k,), np.int64)
    for pos in np.ndindex(moved.shape[:-1]):
        row = moved[pos].tolist()
        order = sorted(range(len(row)), key=lambda i: (-row[i], i) if largest else (row[i], i))[:k]
        idx[pos] = order
        vals[pos] = [row[i] for i in order]
    return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)


@pytest.mark.parametrize("trial", range(12))
def test_topk_matches_naive(trial):
    rank = int(RNG.integers(1, 4))
    shape = tuple(int(s) for s in RNG.integers(1, 6, size=rank))
    axis = int(RNG.integers(0, rank))
    shape = shape[:axis] + (int(RNG.integers(20, 200)),) + shape[axis + 1 :]
    dtype = [np.float32, np.int32, np.uint8, np.float64][trial % 4]
    x = RNG.integers(0, 6 if trial % 2 else 1000, size=shape).astype(dtype)
    k = int(RNG.integers(1, shape[axis] + 1)) if trial % 3 == 0 else int(RNG.integers(1, 6))
    for largest in (True, False):
        v, i = topk(x, k, axis, largest)
        nv, ni = naive_topk(x, k, axis, largest)
        np.testing.assert_array_equal(i, ni)
        np.testing.assert_array_equal(v, nv)
        assert v.dtype == x.dtype and i.dtype == np.int64


def test_topk_nan_falls_back():
    x = np.array([[1.0, np.nan, 3.0] + [0.0] * 20], np.float32)
    v, i = topk(x, 2, 1, True)
    assert np.isnan(v[0, 0]) and i[0, 0] == 1 and i[0, 1] == 2


def test_views_share_memory():
    x = RNG.standard_normal((4, 6, 8)).astype(np.float32)
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731
    cases = [
        (make("Reshape", consts=[None, i64(4, -1)]), (x, i64(4, -1))),
        (make("Reshape"), (x, i64(0, 48))),
        (make("Transpose", {"perm": [2, 0, 1]}), (x,)),
        (
            make("Slice", consts=[None, i64(1), i64(5), i64(1), i64(2)], shapes=[x.shape]),
            (x, i64(1), i64(5), i64(1), i64(2)),
        ),
        (make("Slice"), (x, i64(-1), i64(-9), i64(2), i64(-1))),
        (make("Gather", {"axis": 1}), (x, np.array(-2, np.int64))),
        (make("Unsqueeze"), (x.transpose(1, 0, 2), i64(0, -1))),
        (make("Squeeze"), (x[:1], i64(0))),
        (make("Flatten", {"axis": 2}), (x,)),
        (make("Expand"), (x[:, :1], i64(2, 1, 6, 1))),
    ]
    for kern, args in cases:
        (out,) = kern.run(*args)
        assert np.shares_memory(out, x), type(kern).__name__
    parts = make("Split", {"axis": 1}, num_outputs=3).run(x)
    assert len(parts) == 3 and all(np.shares_memory(p, x) for p in parts)


def test_slice_static_index_reused_for_same_rank():
    x = np.arange(60).reshape(3, 4, 5)
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731
    kern = make("Slice", consts=[None, i64(-1), i64(-100), i64(-1), i64(-2)], shapes=[x.shape])
    (out,) = kern.run(x, i64(-1), i64(-100), i64(-1), i64(-2))
    np.testing.assert_array_equal(out, x[:, :, ::-2])


def test_split_num_outputs_uneven():
    x = np.arange(7)
    parts = make("Split", {"axis": 0, "num_outputs": 3}, num_outputs=3).run(x)
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6]]


def test_unique_unsorted_matches_first_occurrence():
    x = RNG.integers(0, 20, size=200).astype(np.int64)
    y, first, inverse, counts = make("Unique", {"sorted": 0}, num_outputs=4).run(x)
    seen = list(dict.fromkeys(x.tolist()))
    assert y.tolist() == seen
    assert first.tolist() == [x.tolist().index(v) for v in seen]
    np.testing.assert_array_equal(y[inverse], x)
    assert counts.tolist() == [x.tolist().count(v) for v in seen]


@pytest.mark.parametrize(
    "op,attrs,args",
    [
        ("RandomUniform", {"shape": [3, 4], "dtype": 11, "low": -2.0, "high": 2.0, "seed": 5.0}, ()),
        ("RandomNormal", {"shape": [1000], "dtype": 1, "mean": 3.0, "scale": 0.5, "seed": 1.0}, ()),
        ("RandomUniformLike", {"seed": 2.0}, (np.zeros((2, 5), np.float16),)),
        ("RandomNormalLike", {"dtype": 11, "seed": 3.0}, (np.zeros((4,), np.float32),)),
        ("Bernoulli", {"seed": 0.0}, (np.full((50,), 0.3, np.float32),)),
        ("Bernoulli", {"dtype": 6, "seed": 0.0}, (np.full((50,), 0.3, np.float64),)),
        (
            "Multinomial",
            {"sample_size": 7, "seed": 4.0},
            (np.log(np.array([[0.1, 0.0001, 0.9], [1, 1, 1]], np.float32)),),
        ),
    ],
)
def test_random_seeded(op, attrs, args):
    a = make(op, attrs).run(*args)[0]
    b = make(op, attrs).run(*args)[0]
    np.testing.assert_array_equal(a, b)
    expected_dtype = {11: np.float64, 1: np.float32, 6: np.int32}.get(attrs.get("dtype"))
    if expected_dtype is None:
        expected_dtype = np.int32 if op == "Multinomial" else args[0].dtype
    assert a.dtype == expected_dtype
    if op == "RandomUniform":
        assert a.shape == (3, 4) and a.min() >= -2 and a.max() < 2
    if op == "RandomNormal":
        assert abs(a.mean() - 3.0) < 0.1 and abs(a.std() - 0.5) < 0.1
    if op == "Multinomial":
        assert a.shape == (2, 7) and a.min() >= 0 and a.max() <= 2 and (a[0] != 1).all()
    if op == "Bernoulli":
        assert set(np.unique(a).tolist()) <= {0, 1}


def test_multinomial_distribution():
    logits = np.log(np.array([[0.2, 0.5, 0.3]], np.float32))
    s = make("Multinomial", {"sample_size": 20000, "seed": 9.0}).run(logits)[0]
    freq = np.bincount(s[0], minlength=3) / s.shape[1]
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.02)


def test_scatternd_duplicates_reduce():
    data = np.zeros(5, np.float32)
    out = make("ScatterND", {"reduction": "add"}).run(
        data, np.array([[1], [1], [3]], np.int64), np.array([1, 2, 3], np.float32)
    )[0]
    assert out.tolist() == [0, 3, 0, 3, 0] and data.sum() == 0


def test_tensor_scatter_circular():
    cache = np.zeros((2, 1, 4, 2), np.float32)
    upd = np.ones((2, 1, 3, 2), np.float32) * np.arange(1, 4, dtype=np.float32)[:, None]
    out = make("TensorScatter", {"mode": "circular", "axis": -2}).run(cache, upd, np.array([0, 2], np.int64))[0]
    assert out[0, 0, :, 0].tolist() == [1, 2, 3, 0]
    assert out[1, 0, :, 0].tolist() == [3, 0, 1, 2]
