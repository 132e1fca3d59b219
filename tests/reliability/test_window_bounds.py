"""Windows a file declares far beyond the input (huge kernels, pads, dilations, strides) cost time bounded by the
output and the taps that reach the input, or end in a typed error; never minutes.

The fuzzers found a MaxPool with a 3 x 32768 kernel over a 10 x 10 map that ran for minutes in the native kernel
library (every tap was a pass over the whole padded plane, 32778 floats a row).  Results are checked against
onnxruntime, with the native kernel library and with the numpy kernels.
"""
from __future__ import annotations

import time

import numpy as np
import onnxruntime
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import TensorProto, helper, numpy_helper

import litert
from litert.errors import LitertError

X_SHAPE = [1, 2, 10, 10]
WIDE = dict(kernel_shape=[3, 32768], pads=[1, 16384, 1, 16384])
#: (op, attributes); every one of them accepted by onnxruntime (pads smaller than the kernel)
POOLS = [
    ("MaxPool", WIDE),
    ("AveragePool", WIDE),
    ("AveragePool", dict(WIDE, count_include_pad=1)),
    ("LpPool", WIDE),
    ("MaxPool", dict(kernel_shape=[2, 64], pads=[1, 63, 1, 63], dilations=[1, 2])),
    ("AveragePool", dict(kernel_shape=[4, 4], pads=[3, 3, 3, 3], strides=[9, 9])),
]


@pytest.fixture(params=["native", "numpy"])
def kernels(request, monkeypatch):
    if request.param == "numpy":
        import litert_cpu.executor

        monkeypatch.setattr(litert_cpu.executor, "native_module", lambda: None)
    return request.param


def _run_both(path, x):
    expected = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    started = time.monotonic()
    got = litert.load(path).predict([x], timeout=60)
    return expected, got, time.monotonic() - started


@pytest.mark.parametrize("op, attrs", POOLS, ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.get("kernel_shape"))))
def test_pool_windows_far_beyond_the_input_match_onnxruntime_quickly(tmp_path, kernels, op, attrs):
    path = save(onnx_model([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": (F, X_SHAPE)}, {"y": (F, None)},
                           opset=18), tmp_path / "pool.onnx")
    x = np.random.default_rng(0).standard_normal(X_SHAPE).astype(np.float32)
    expected, got, seconds = _run_both(path, x)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    assert seconds < 10, f"{op} {attrs} took {seconds:.1f} s ({kernels} kernels)"


def test_maxpool_indices_over_a_wide_window_match_onnxruntime(tmp_path):
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **WIDE)
    path = save(onnx_model([node], {"x": (F, X_SHAPE)}, {"y": (F, None), "i": (TensorProto.INT64, None)}, opset=18),
                tmp_path / "pool.onnx")
    x = np.random.default_rng(1).standard_normal(X_SHAPE).astype(np.float32)
    expected, got, seconds = _run_both(path, x)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[0], expected[0])
    assert seconds < 10


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
def test_a_stride_of_2_30_is_refused_not_padded(tmp_path, kernels, op):
    """Two windows 2^30 apart: a padded copy would be 80 GiB; the kernel refuses it with a typed error."""
    node = helper.make_node(op, ["x"], ["y"], kernel_shape=[2, 2], pads=[0, 0, 2**30, 0], strides=[2**30, 1])
    path = save(onnx_model([node], {"x": (F, X_SHAPE)}, {"y": (F, None)}, opset=18), tmp_path / "pool.onnx")
    started = time.monotonic()
    with pytest.raises(LitertError, match="memory limit"):
        litert.load(path).predict([np.zeros(X_SHAPE, np.float32)], timeout=60)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_convolutions_over_wide_windows_stay_bounded(tmp_path, kernels, op):
    w = np.random.default_rng(2).standard_normal([2, 2, 3, 32768]).astype(np.float32) / 100
    node = helper.make_node(op, ["x", "w"], ["y"], **WIDE)
    path = save(onnx_model([node], {"x": (F, X_SHAPE)}, {"y": (F, None)}, [numpy_helper.from_array(w, "w")],
                           opset=18), tmp_path / "conv.onnx")
    x = np.random.default_rng(3).standard_normal(X_SHAPE).astype(np.float32)
    expected, got, seconds = _run_both(path, x)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-4, atol=1e-4)
    assert seconds < 30, f"{op} took {seconds:.1f} s ({kernels} kernels)"


@pytest.mark.parametrize("attrs", [dict(pads=[1, 1, 1, 1]), dict(auto_pad="SAME_UPPER", strides=[2, 2])],
                         ids=["pads", "same-upper"])
def test_a_padded_batch_of_empty_images_is_not_materialised(tmp_path, kernels, attrs):
    """The tflite fuzzer's finding: a batch of 3 x 2^24 + 1 images with an empty axis holds no element, but its
    padded copy (one row of padding per image) was 10 GB, made in 50 s for an empty result; here 2^25 + 1 images."""
    w = np.full([8, 3, 3, 3], 0.1, np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], **attrs)
    path = save(onnx_model([node], {"x": (F, [2**25 + 1, 3, 0, 16])}, {"y": (F, None)},
                           [numpy_helper.from_array(w, "w")], opset=18), tmp_path / "conv.onnx")
    started = time.monotonic()
    (y,) = litert.load(path).predict([np.zeros([2**25 + 1, 3, 0, 16], np.float32)], timeout=60)
    assert y.shape == (2**25 + 1, 8, 0, 16 if "pads" in attrs else 8)
    assert time.monotonic() - started < 10, f"{time.monotonic() - started:.1f} s ({kernels} kernels)"


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
def test_pools_over_a_long_axis_next_to_an_empty_one_do_no_work(tmp_path, kernels, op):
    """The tflite fuzzer's finding: an AveragePool over millions of positions along one axis next to an empty one
    (no element) spent seconds computing the window counts of every position along the long axis (minutes and
    gigabytes of Python ints for 2^31)."""
    shape = [1, 3, 2**25 + 16, 0]
    node = helper.make_node(op, ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    path = save(onnx_model([node], {"x": (F, shape)}, {"y": (F, None)}, opset=18), tmp_path / "pool.onnx")
    started = time.monotonic()
    (y,) = litert.load(path).predict([np.zeros(shape, np.float32)], timeout=60)
    assert y.shape == (1, 3, 2**24 + 8, 0)
    assert time.monotonic() - started < 5, f"{op} took {time.monotonic() - started:.1f} s ({kernels} kernels)"
