"""math kernels vs the ONNX reference evaluator on random shapes and edge cases.

The conformance cases mostly use one shape and one dtype per op; these tests
sweep dtypes, 0-d / empty / non-contiguous inputs, broadcasting and attribute
combinations.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import litert_cpu.kernels  # noqa: F401
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS
from litert_cpu.kernels.math._common import erf

RNG = np.random.default_rng(0)
# Kernels must not leak numpy floating-point warnings (inf/nan results are defined).
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning:litert_cpu")


def run_kernel(op, inputs, consts=None, num_outputs=1, **attrs):
    consts = consts or [None] * len(inputs)
    ctx = KernelContext(op_type=op, consts=consts, num_outputs=num_outputs,
                        input_shapes=[getattr(x, "shape", None) for x in inputs],
                        input_dtypes=[getattr(x, "dtype", None) for x in inputs])
    return KERNELS[("", op)](attrs, ctx).run(*inputs)


def run_reference(op, inputs, **attrs):
    names = [f"x{i}" if x is not None else "" for i, x in enumerate(inputs)]
    node = helper.make_node(op, names, ["y"], **attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ReferenceEvaluator(node).run(None, {n: x for n, x in zip(names, inputs) if n})


def _gelu(x, approximate="none"):
    x64 = x.astype(np.float64)
    if approximate == "tanh":
        y = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3)))
    else:
        y = 0.5 * x64 * (1 + np.vectorize(math.erf, otypes=[np.float64])(x64 / np.sqrt(2)))
    return y.astype(x.dtype)


# Ops whose ONNX reference implementation is missing or buggy for these inputs.
OVERRIDES = {
    "Gelu": lambda inputs, **a: _gelu(inputs[0], **a),
    "Mean": lambda inputs, **a: (sum(x.astype(np.float64) for x in inputs) / len(inputs)).astype(inputs[0].dtype),
}


def check(op, inputs, rtol=1e-5, atol=1e-6, **attrs):
    got = run_kernel(op, inputs, **attrs)[0]
    try:
        exp = OVERRIDES[op](inputs, **attrs) if op in OVERRIDES else run_reference(op, inputs, **attrs)[0]
    except Exception:  # some reference ops reject 0-d inputs: compare as shape (1,)
        if any(x is not None and x.ndim for x in inputs):
            raise
        exp = run_reference(op, [x if x is None else x.reshape(1) for x in inputs], **attrs)[0].reshape(())
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == exp.dtype, (op, got.dtype, exp.dtype)
    assert got.shape == exp.shape, (op, got.shape, exp.shape)
    if got.dtype == object:
        assert got.tolist() == exp.tolist()
    else:
        np.testing.assert_allclose(got.astype(np.float64), exp.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=op)


SHAPES = [(), (0,), (7,), (3, 4), (2, 3, 5)]


def rand(shape, dtype=np.float32, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, size=shape).astype(dtype)


UNARY = ["Abs", "Neg", "Exp", "Ceil", "Floor", "Round", "Sign", "Sin", "Cos", "Tan", "Atan", "Sinh",
         "Cosh", "Asinh", "Tanh", "Erf", "Sigmoid", "Relu", "Elu", "Celu", "Selu", "LeakyRelu", "HardSigmoid",
         "HardSwish", "Mish", "Softplus", "Softsign", "ThresholdedRelu", "Shrink", "Gelu", "IsNaN", "IsInf"]


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_unary(op, dtype):
    for shape in SHAPES:
        x = rand(shape, dtype)
        if x.ndim == 2:
            x = x.T  # non-contiguous
        tol = 2e-3 if dtype == np.float16 else 1e-5
        check(op, [x], rtol=tol, atol=tol)


@pytest.mark.parametrize("op,lo,hi", [("Sqrt", 0, 4), ("Log", 0.01, 4), ("Reciprocal", 0.5, 4),
                                      ("Asin", -1, 1), ("Acos", -1, 1), ("Atanh", -0.99, 0.99),
                                      ("Acosh", 1, 5)])
def test_unary_domain(op, lo, hi):
    for shape in SHAPES:
        check(op, [rand(shape, np.float32, lo, hi)])


def test_activation_attrs_and_specials():
    x = np.array([-np.inf, -100, -1e-8, -0.0, 0.0, 1e-8, 0.5, 100, np.inf, np.nan], np.float32)
    for op, attrs in [("Elu", dict(alpha=0.3)), ("Celu", dict(alpha=2.0)), ("LeakyRelu", dict(alpha=3.0)),
                      ("LeakyRelu", dict(alpha=-0.5)), ("HardSigmoid", dict(alpha=0.4, beta=0.3)),
                      ("ThresholdedRelu", dict(alpha=0.2)), ("Shrink", dict(lambd=0.3, bias=0.1)),
                      ("Softplus", {}), ("Sigmoid", {}), ("Gelu", dict(approximate="tanh")), ("Gelu", {}),
                      ("Selu", dict(alpha=2.0, gamma=3.0)), ("Swish", dict(alpha=0.7)), ("Mish", {})]:
        if op == "Swish":
            got = run_kernel(op, [x], **attrs)[0]
            with np.errstate(all="ignore"):
                exp = x / (1 + np.exp(-0.7 * x.astype(np.float64)))
            np.testing.assert_allclose(got[1:-2], exp[1:-2], rtol=1e-5, atol=1e-7)
            continue
        check(op, [x[1:-2] if op == "Mish" else x], **attrs)


def test_shrink_int():
    x = np.arange(-5, 6, dtype=np.int8)
    check("Shrink", [x], lambd=1.5, bias=1.5)


def test_prelu_broadcast():
    x = rand((2, 3, 4, 5))
    for slope in (rand((3, 1, 1)), rand((5,)), rand(())):
        check("PRelu", [x, slope])


def test_clip():
    x = rand((4, 5))
    check("Clip", [x, np.array(-1, np.float32), np.array(0.5, np.float32)])
    check("Clip", [x, None, np.array(0.5, np.float32)])
    check("Clip", [x, np.array(0.5, np.float32)])
    check("Clip", [x, np.array(1, np.float32), np.array(-1, np.float32)])  # min > max -> max
    xi = np.arange(-5, 5, dtype=np.int32)
    check("Clip", [xi, np.array(-2, np.int32), np.array(3, np.int32)])
    check("Clip", [np.array(3.0, np.float32), np.array(0.0, np.float32), np.array(1.0, np.float32)])


BCAST = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 3)), ((4,), ()), ((0, 3), (3,))]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Equal", "Less",
                                "LessOrEqual", "Greater", "GreaterOrEqual"])
def test_binary_float(op):
    for sa, sb in BCAST:
        check(op, [rand(sa), rand(sb, lo=0.5)])


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Mod", "Max", "Min", "BitwiseAnd", "BitwiseOr",
                                "BitwiseXor", "Equal", "Greater"])
def test_binary_int(op, dtype):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -50), min(info.max, 50)
    for sa, sb in BCAST:
        a = RNG.integers(lo, hi, size=sa, endpoint=True).astype(dtype)
        b = RNG.integers(lo, hi, size=sb, endpoint=True).astype(dtype)
        if op in ("Div", "Mod"):
            b[b == 0] = 3
        check(op, [a, b])


def test_int_div_truncates_exactly():
    a = np.array([7, -7, 7, -7, 2**62 + 1, -(2**62) - 1, np.iinfo(np.int64).min], np.int64)
    b = np.array([2, 2, -2, -2, 3, 3, -1 + 2], np.int64)
    got = run_kernel("Div", [a, b])[0]
    assert got.tolist() == [int(x / y) if abs(x) < 2**52 else -(-x // y) if (x < 0) != (y < 0) else x // y
                            for x, y in zip(a.tolist(), b.tolist())]


def test_mod_fmod():
    a = rand((20,))
    b = rand((20,), lo=0.5) * np.where(RNG.random(20) > 0.5, 1, -1).astype(np.float32)
    check("Mod", [a, b], fmod=1)
    check("Mod", [a, b], fmod=0)


@pytest.mark.parametrize("bt,et", [(np.float32, np.float32), (np.float32, np.int64), (np.int64, np.float32),
                                   (np.int32, np.int32), (np.float16, np.float16), (np.float64, np.int32)])
def test_pow(bt, et):
    base = RNG.uniform(0.5, 3, size=(3, 4)).astype(bt)
    exp = RNG.integers(0, 4, size=(4,)).astype(et)
    check("Pow", [base, exp], rtol=1e-3)
    for c in (2.0, 0.5, 3.0, 1.0, -1.0):
        e = np.array(c, dtype=np.float32)
        got = run_kernel("Pow", [base.astype(np.float32), e], consts=[None, e])[0]
        np.testing.assert_allclose(got, base.astype(np.float32) ** c, rtol=1e-6)
        assert got.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.uint64])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift(dtype, direction):
    bits = np.dtype(dtype).itemsize * 8
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.max, size=(40,), endpoint=True, dtype=dtype)
    s = RNG.integers(0, bits - 1, size=(40,)).astype(dtype)
    check("BitShift", [x, s], direction=direction)


def test_logical_and_where():
    a, b = RNG.random((3, 4)) > 0.5, RNG.random((4,)) > 0.5
    for op in ("And", "Or", "Xor"):
        check(op, [a, b])
    check("Not", [a])
    check("BitwiseNot", [np.arange(-3, 3, dtype=np.int16)])
    check("Where", [a, rand((3, 4)), rand((1, 4))])
    s1 = np.array(["a", "b", "c"], dtype=object)
    s2 = np.array(["x", "y", "z"], dtype=object)
    check("Where", [np.array([True, False, True]), s1, s2])
    check("Equal", [s1, np.array(["a", "y", "c"], dtype=object)])


REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64])
def test_reduce(op, dtype):
    if dtype == np.int32 and op in ("ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"):
        return  # log of ints is not meaningful; the reference promotes SumSquare to int64
    x = rand((3, 4, 5), np.float64, 0.1, 2.0)
    x = (x * 3).astype(dtype) if dtype == np.int32 else x.astype(dtype)
    for axes in (None, [0], [-1], [0, 2], [1, 0], []):
        for keepdims in (0, 1):
            for noop in (0, 1):
                inputs = [x] if axes is None else [x, np.array(axes, dtype=np.int64)]
                check(op, inputs, rtol=1e-4, keepdims=keepdims, noop_with_empty_axes=noop)


@pytest.mark.parametrize("op", REDUCE)
def test_reduce_empty(op):
    x = np.zeros((2, 0, 3), np.float32)
    for axes in ([1], [0, 1], [2]):
        for keepdims in (0, 1):
            got = run_kernel(op, [x, np.array(axes, np.int64)], keepdims=keepdims)[0]
            if op == "ReduceMean":  # 0/0, not specified by ONNX
                continue
            check(op, [x, np.array(axes, np.int64)], keepdims=keepdims)
            assert got.dtype == np.float32


def test_reduce_half_accumulates_in_float32():
    x = np.full((10000,), 0.1, np.float16)
    got = run_kernel("ReduceSum", [x], keepdims=0)[0]
    assert got.dtype == np.float16
    assert abs(float(got) - 1000.0) < 1.0


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_argminmax(op):
    x = RNG.integers(0, 3, size=(3, 4, 5)).astype(np.float32)  # many ties
    for axis in (0, 1, -1):
        for keepdims in (0, 1):
            for last in (0, 1):
                check(op, [x], axis=axis, keepdims=keepdims, select_last_index=last)


@pytest.mark.parametrize("op", ["CumSum", "CumProd"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_cumulative(op, dtype):
    x = rand((3, 4, 2), np.float64, 0.5, 2).astype(dtype) if dtype == np.float32 else \
        RNG.integers(-3, 4, size=(3, 4, 2)).astype(dtype)
    for axis in (0, 1, -1):
        for exclusive in (0, 1):
            for reverse in (0, 1):
                check(op, [x, np.array(axis, np.int32)], exclusive=exclusive, reverse=reverse)


def test_det():
    for shape in ((3, 3), (2, 4, 4), (1, 1)):
        check("Det", [rand(shape)], rtol=1e-4, atol=1e-5)


NUMERIC = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32,
           np.uint64, np.bool_]
_CODES = {np.float32: 1, np.uint8: 2, np.int8: 3, np.int16: 5, np.int32: 6, np.int64: 7, np.bool_: 9,
          np.float16: 10, np.float64: 11, np.uint32: 12, np.uint64: 13}


@pytest.mark.parametrize("src", NUMERIC)
def test_cast_numeric(src):
    x = (RNG.uniform(-100, 100, size=(4, 5))).astype(np.float64)
    x = (x > 0) if src == np.bool_ else x.astype(src)
    for dst in NUMERIC:
        if np.dtype(src).kind == "f" and np.dtype(dst).kind == "u":
            continue  # negative float -> unsigned is undefined
        check("Cast", [x], to=_CODES[dst])
        check("CastLike", [x, np.zeros(0, dst)])


def test_cast_strings():
    x = np.array([0.47892547, 1e-7, 1e20, np.nan, np.inf, -np.inf, 3.0, -1.5], np.float32)
    got = run_kernel("Cast", [x], to=8)[0]
    assert got.dtype == object
    assert got.tolist() == ["0.47892547", "1e-07", "1e+20", "NaN", "INF", "-INF", "3", "-1.5"]
    s = np.array(["1.5", "-INF", "nan", "+inf", "1e3", " 7", "-0", "Inf"], dtype=object)
    f = run_kernel("Cast", [s], to=1)[0]
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, np.array([1.5, -np.inf, np.nan, np.inf, 1000, 7, -0.0, np.inf], np.float32))
    i = run_kernel("Cast", [np.array(["1", "-7", "300", "2.7"], dtype=object)], to=3)[0]
    assert i.dtype == np.int8 and i.tolist() == [1, -7, 44, 2]
    assert run_kernel("Cast", [np.array([1, -5], np.int64)], to=8)[0].tolist() == ["1", "-5"]


def test_cast_float8_saturate():
    x = np.array([0.3, 500, -500, np.inf, -np.inf, np.nan, 1e-7, 60000], np.float32)
    for to in (17, 18, 19, 20):
        for sat in (0, 1):
            check("Cast", [x], to=to, saturate=sat)


def test_cast_e8m0_modes():
    x = np.array([0.1, 0.25, 0.3, 0.75, 1.0, 1.5, 3.0, 1e30, 2.0**127 * 1.5], np.float32)
    for mode in ("up", "down", "nearest"):
        for sat in (0, 1):
            check("Cast", [x], to=24, saturate=sat, round_mode=mode)


def test_bitcast():
    x = rand((3, 4))
    got = run_kernel("BitCast", [x.T], to=6)[0]
    np.testing.assert_array_equal(got, np.ascontiguousarray(x.T).view(np.int32))
    assert run_kernel("BitCast", [np.array(1.0, np.float32)], to=6)[0].shape == ()


def test_erf_accuracy():
    x = np.concatenate([np.linspace(-5, 5, 20001), np.logspace(-30, 0.5, 2000), [0.0, np.inf, -np.inf]])
    ref = np.array([math.erf(v) for v in x])
    for dtype in (np.float32, np.float64):
        got = erf(x.astype(dtype))
        assert got.dtype == dtype
        tol = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * 1e-30)
    assert np.isnan(erf(np.array([np.nan], np.float32)))[0]


def test_identity_passes_objects():
    seq = [np.zeros(2), np.ones(3)]
    assert run_kernel("Identity", [seq])[0] is seq


@pytest.mark.parametrize("op,ref", [("ReduceMax", np.max), ("ReduceMin", np.min), ("ReduceSum", np.sum),
                                    ("ReduceSumSquare", lambda x, **k: np.sum(x * x, **k)),
                                    ("ReduceMean", np.mean),
                                    ("ReduceLogSumExp", lambda x, **k: np.log(np.sum(np.exp(x), **k)))])
def test_reduce_fast_paths(op, ref):
    """Shapes that hit the einsum / column-fold / halving paths, plus NaN propagation."""
    for shape, axes in [((50, 3), (1,)), ((40, 7, 5), (1,)), ((4, 33, 9), (1, 2)), ((6, 5, 130), (1,)),
                        ((2, 3, 4, 5), (1, 2)), ((2, 3, 4, 5), (0, 2)), ((9, 16), (0, 1)), ((3, 1, 4), (1,))]:
        x = rand(shape, np.float32)
        for keepdims in (0, 1):
            got = run_kernel(op, [x, np.array(axes, np.int64)], keepdims=keepdims)[0]
            exp = ref(x.astype(np.float64), axis=axes, keepdims=bool(keepdims))
            assert got.dtype == np.float32 and got.shape == exp.shape, (op, shape, axes)
            np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-5)
        x.reshape(-1)[5] = np.nan
        got = run_kernel(op, [x, np.array(axes, np.int64)], keepdims=1)[0]
        exp = ref(x.astype(np.float64), axis=axes, keepdims=True)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))
