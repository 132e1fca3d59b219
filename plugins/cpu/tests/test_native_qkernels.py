"""The native int8 steps (quantised conv, depthwise, QLinearMatMul/QGemm rows, (de)quantisation) against
the numpy kernels, on random odd shapes, on both the AVX512-VNNI path and the portable C path.

Every case asserts that the native path really ran the node.  The numpy kernels requantise in float64 and
the native ones in float32 (as onnxruntime does): results may differ by one step where a value lands
within float32 rounding of a half, which the tests bound.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from litert.backend import CompileContext
from litert.ir import DType, Graph, Node, Value
from litert_cpu.executor import CpuPartition
from litert_cpu.native import module, status

pytestmark = pytest.mark.skipif(module() is None or not hasattr(module(), "STEP_QCONV2D"),
                                reason=f"native int8 kernels inactive: {status().detail}")

RNG_SEED = 20261205


def _graph(nodes: list[Node], inputs: dict[str, np.ndarray], consts: dict[str, np.ndarray],
           outputs: dict[str, tuple[tuple[int, ...], np.dtype]]) -> Graph:
    values = {name: Value(name, DType.from_numpy(a.dtype), tuple(a.shape)) for name, a in inputs.items()}
    for name, array in consts.items():
        array = np.asarray(array)
        values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
    for name, (shape, dtype) in outputs.items():
        values[name] = Value(name, DType.from_numpy(np.dtype(dtype)), tuple(shape))
    return Graph(nodes=nodes, inputs=list(inputs), outputs=list(outputs), values=values, name="q")


def _run(graph: Graph, inputs: dict[str, np.ndarray], portable: bool = False, threads: int = 2):
    """(native result, numpy result); asserts every node ran natively."""
    ctx = CompileContext(threads=threads, opsets={"": 21, "com.microsoft": 1})
    native = CpuPartition(graph, ctx, native=True)
    covered = {n.name for seg in native.native_segments for n in seg.nodes}
    missing = [n.name for n in graph.nodes if n.name not in covered]
    assert not missing, f"native path declined {missing}: {native.native_declined}"
    reference = CpuPartition(graph, ctx, native=False)
    module().qconv_force_portable(portable)
    try:
        got = native.run(inputs)
    finally:
        module().qconv_force_portable(False)
    return got, reference.run(inputs)


def _assert_requantised_close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert diff.max(initial=0) <= 1
    assert (diff > 0).mean() < 0.01 if diff.size >= 100 else (diff > 0).sum() <= 1


def _random_q(rng, shape, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _qconv_case(case: int):
    rng = np.random.default_rng(RNG_SEED + case)
    depthwise = case % 3 == 2
    x_dtype = (np.uint8, np.int8)[case % 2]
    y_dtype = (np.uint8, np.int8)[(case // 2) % 2]
    n = int(rng.integers(1, 3))
    c = int(rng.integers(2, 40))
    m = c if depthwise else int(rng.integers(1, 70))
    h, w = int(rng.integers(1, 19)), int(rng.integers(1, 23))
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    if case % 5 == 0:
        kh = kw = 1
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    pads = [int(v) for v in rng.integers(0, 3, size=4)]
    oh = (h + pads[0] + pads[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pads[1] + pads[3] - (kw - 1) * dw - 1) // sw + 1
    if oh < 1 or ow < 1:
        pads, kh, kw, dh, dw = [kh, kw, kh, kw], 1, 1, 1, 1
        oh = (h + pads[0] + pads[2] - 1) // sh + 1
        ow = (w + pads[1] + pads[3] - 1) // sw + 1
    group = c if depthwise else 1
    x = _random_q(rng, (n, c, h, w), x_dtype)
    weights = rng.integers(-127, 128, (m, c // group, kh, kw)).astype(np.int8)
    per_channel = case % 4 != 3
    consts = {
        "xs": np.float32(rng.uniform(0.005, 0.05)), "xz": _random_q(rng, (), x_dtype), "w": weights,
        "ws": (rng.uniform(0.001, 0.01, m) if per_channel else np.array([0.004])).astype(np.float32),
        "wz": np.zeros(m if per_channel else 1, np.int8),
        "ys": np.float32(rng.uniform(0.05, 0.5)), "yz": _random_q(rng, (), y_dtype),
    }
    inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if case % 7 != 6:
        consts["b"] = rng.integers(-20000, 20000, m).astype(np.int32)
        inputs.append("b")
    attrs = {"strides": [sh, sw], "pads": pads, "dilations": [dh, dw], "group": group, "kernel_shape": [kh, kw]}
    node = Node("QLinearConv", inputs, ["y"], attrs, name="qconv")
    return _graph([node], {"x": x}, consts, {"y": ((n, m, oh, ow), y_dtype)}), x


@pytest.mark.parametrize("case", range(30))
def test_qlinear_conv_matches_numpy(case):
    graph, x = _qconv_case(case)
    got, want = _run(graph, {"x": x})
    _assert_requantised_close(got["y"], want["y"])


@pytest.mark.parametrize("case", range(0, 30, 4))
def test_qlinear_conv_portable_path_gives_the_same_integers(case):
    graph, x = _qconv_case(case)
    portable, want = _run(graph, {"x": x}, portable=True)
    fast, _ = _run(graph, {"x": x})
    _assert_requantised_close(portable["y"], want["y"])
    np.testing.assert_array_equal(portable["y"], fast["y"])  # same float32 requantisation on both paths


def test_consecutive_quantised_convs_stay_int8_in_one_segment():
    rng = np.random.default_rng(RNG_SEED)
    consts = {"s": np.float32(0.05), "z": np.uint8(3), "ws": np.float32(0.01), "wz": np.int8(0),
              "w1": rng.integers(-127, 128, (16, 8, 3, 3)).astype(np.int8),
              "w2": rng.integers(-127, 128, (16, 1, 3, 3)).astype(np.int8),
              "w3": rng.integers(-127, 128, (5, 16, 1, 1)).astype(np.int8)}
    nodes = [Node("QLinearConv", ["x", "s", "z", "w1", "ws", "wz", "s", "z"], ["a"], {"pads": [1] * 4}, name="c1"),
             Node("QLinearConv", ["a", "s", "z", "w2", "ws", "wz", "s", "z"], ["b"], {"pads": [1] * 4, "group": 16},
                  name="c2"),
             Node("QLinearConv", ["b", "s", "z", "w3", "ws", "wz", "s", "z"], ["y"], {}, name="c3")]
    x = _random_q(rng, (1, 8, 11, 9), np.uint8)
    graph = _graph(nodes, {"x": x}, consts, {"y": ((1, 5, 11, 9), np.uint8)})
    graph.values["a"] = Value("a", DType.UINT8, (1, 16, 11, 9))
    graph.values["b"] = Value("b", DType.UINT8, (1, 16, 11, 9))
    ctx = CompileContext(threads=2, opsets={"": 21})
    partition = CpuPartition(graph, ctx, native=True)
    (segment,) = partition.native_segments
    assert [n.op_type for n in segment.nodes] == ["QLinearConv"] * 3
    # the intermediate activations are uint8 slots of the arena, held channels-last: three int8 steps, no
    # conversions, the depthwise one on its NHWC kernel
    assert segment.step_kinds == [module().STEP_QCONV2D, module().STEP_QDWCONV2D_NHWC, module().STEP_QCONV2D]
    assert segment._channels_last == {"a", "b"}
    got, want = _run(graph, {"x": x})
    _assert_requantised_close(got["y"], want["y"])


def _channels_last_chain(case: int):
    """1x1 conv (NCHW in, NHWC out) -> depthwise of random geometry (NHWC) -> k x k conv with padding (NHWC
    in, NCHW out): every int8 layout path of the native steps."""
    rng = np.random.default_rng(RNG_SEED + 100 + case)
    dtype = (np.uint8, np.int8)[case % 2]
    n, c0, c = int(rng.integers(1, 3)), int(rng.integers(1, 9)), int(rng.integers(1, 70))
    h, w = int(rng.integers(1, 16)), int(rng.integers(1, 20))
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    sh, sw, dh, dw = (int(v) for v in rng.integers(1, 3, size=4))
    pads = [int(v) for v in rng.integers(0, 3, size=4)]
    oh = (h + pads[0] + pads[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pads[1] + pads[3] - (kw - 1) * dw - 1) // sw + 1
    if oh < 1 or ow < 1:
        kh = kw = dh = dw = 1
        oh, ow = (h + pads[0] + pads[2] - 1) // sh + 1, (w + pads[1] + pads[3] - 1) // sw + 1
    m, k3 = int(rng.integers(1, 40)), int(rng.integers(1, 4))
    consts = {"s": np.float32(rng.uniform(0.01, 0.05)), "z": _random_q(rng, (), dtype),
              "ws": rng.uniform(0.001, 0.01, max(c, m)).astype(np.float32), "wz": np.zeros(max(c, m), np.int8),
              "w1": rng.integers(-127, 128, (c, c0, 1, 1)).astype(np.int8),
              "w2": rng.integers(-127, 128, (c, 1, kh, kw)).astype(np.int8),
              "w3": rng.integers(-127, 128, (m, c, k3, k3)).astype(np.int8),
              "b2": rng.integers(-20000, 20000, c).astype(np.int32)}
    consts["ws1"], consts["wz1"] = consts["ws"][:c], consts["wz"][:c]
    consts["ws3"], consts["wz3"] = consts["ws"][:m], consts["wz"][:m]
    dw_attrs = {"strides": [sh, sw], "pads": pads, "dilations": [dh, dw], "group": c, "kernel_shape": [kh, kw]}
    nodes = [Node("QLinearConv", ["x", "s", "z", "w1", "ws1", "wz1", "s", "z"], ["a"], {}, name="c1"),
             Node("QLinearConv", ["a", "s", "z", "w2", "ws1", "wz1", "s", "z", "b2"], ["b"], dw_attrs, name="c2"),
             Node("QLinearConv", ["b", "s", "z", "w3", "ws3", "wz3", "s", "z"], ["y"], {"pads": [k3 // 2] * 4},
                  name="c3")]
    x = _random_q(rng, (n, c0, h, w), dtype)
    y_size = (oh + 2 * (k3 // 2) - k3 + 1, ow + 2 * (k3 // 2) - k3 + 1)
    graph = _graph(nodes, {"x": x}, consts, {"y": ((n, m, *y_size), dtype)})
    graph.values["a"] = Value("a", DType.from_numpy(np.dtype(dtype)), (n, c, h, w))
    graph.values["b"] = Value("b", DType.from_numpy(np.dtype(dtype)), (n, c, oh, ow))
    return graph, x


@pytest.mark.parametrize("case", range(24))
@pytest.mark.parametrize("portable", [False, True], ids=["fast", "portable"])
def test_channels_last_int8_chain_matches_numpy(case, portable):
    graph, x = _channels_last_chain(case)
    got, want = _run(graph, {"x": x}, portable=portable, threads=1 + case % 3)
    partition = CpuPartition(graph, CompileContext(threads=2, opsets={"": 21}), native=True)
    (segment,) = partition.native_segments
    assert segment._channels_last == {"a", "b"}, "the chain's activations are held channels-last"
    _assert_requantised_close(got["y"], want["y"])


@pytest.mark.parametrize("case", range(24))
def test_channels_last_int8_chain_vector_and_portable_paths_give_the_same_bytes(case):
    """The int8 kernels sum integers exactly on every path (the depthwise one in float32, below 2^24), so the
    AVX-512 paths (row conversion, tiles) and the portable C give identical bytes, not just close ones."""
    graph, x = _channels_last_chain(case)
    fast, _ = _run(graph, {"x": x}, portable=False, threads=1 + case % 3)
    portable, _ = _run(graph, {"x": x}, portable=True, threads=1 + case % 3)
    np.testing.assert_array_equal(fast["y"], portable["y"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the numpy kernel's own overflow on the infinite scale
@pytest.mark.parametrize("y_scale, bias", [(2.0, 0), (0.02, 0), (0.02, 2**30), (1e-7, 0), (1e-45, 0)],
                         ids=["in-range", "saturating", "huge-bias", "huge-scale", "infinite-scale"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_int8_conv_epilogues_give_the_portable_bytes(y_scale, bias, dtype):
    """The conv epilogue skips its float clamp only where the scaled sums provably stay inside int32 (the packs'
    saturation then clamps); huge or infinite scales and biases take the clamping one: the same bytes as the
    portable C either way, saturated where they overflow."""
    rng = np.random.default_rng(RNG_SEED + 7)
    c, m = 20, 72  # a 64-channel tile and a 16-channel one
    consts = {"xs": np.float32(0.05), "z": _random_q(rng, (), dtype), "ys": np.float32(y_scale),
              "ws": rng.uniform(0.001, 0.01, m).astype(np.float32), "wz": np.zeros(m, np.int8),
              "w": rng.integers(-127, 128, (m, c, 1, 1)).astype(np.int8),
              "b": (rng.integers(-1000, 1000, m) + bias).astype(np.int32)}
    nodes = [Node("QLinearConv", ["x", "xs", "z", "w", "ws", "wz", "ys", "z", "b"], ["y"], {}, name="c")]
    x = _random_q(rng, (1, c, 7, 9), dtype)
    graph = _graph(nodes, {"x": x}, consts, {"y": ((1, m, 7, 9), dtype)})
    fast, _ = _run(graph, {"x": x}, portable=False, threads=1)
    portable, _ = _run(graph, {"x": x}, portable=True, threads=1)
    np.testing.assert_array_equal(fast["y"], portable["y"])
    info = np.iinfo(dtype)
    saturated = np.isin(fast["y"], [info.min, info.max]).mean()
    assert saturated < 0.01 if y_scale > 1 else saturated > 0.5


@pytest.mark.parametrize("case", range(8))
def test_qlinear_matmul_and_qgemm_match_numpy(case):
    rng = np.random.default_rng(RNG_SEED + 100 + case)
    rows, k, cols = int(rng.integers(1, 40)), int(rng.integers(1, 90)), int(rng.integers(1, 70))
    a_dtype = (np.uint8, np.int8)[case % 2]
    a = _random_q(rng, (rows, k), a_dtype)
    b = rng.integers(-127, 128, (k, cols)).astype(np.int8)
    per_column = case % 3 != 0
    consts = {"as": np.float32(0.02), "az": _random_q(rng, (), a_dtype),
              "bs": (rng.uniform(0.002, 0.01, cols) if per_column else np.array([0.005])).astype(np.float32),
              "bz": np.zeros(cols if per_column else 1, np.int8), "ys": np.float32(0.3), "yz": np.uint8(120)}
    if case < 4:
        consts["b"] = b
        node = Node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")
    else:
        consts["b"] = np.ascontiguousarray(b.T)
        consts["c"] = rng.integers(-3000, 3000, cols).astype(np.int32)
        node = Node("QGemm", ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"], ["y"], {"transB": 1},
                    name="qgemm", domain="com.microsoft")
    graph = _graph([node], {"a": a}, consts, {"y": ((rows, cols), np.uint8)})
    got, want = _run(graph, {"a": a}, portable=case % 4 == 3)
    _assert_requantised_close(got["y"], want["y"])


@pytest.mark.parametrize("cols", [1, 16, 37, 64, 100, 1000])
@pytest.mark.parametrize("op", ["QGemm", "QLinearConv"])
def test_single_position_int8_products_match_numpy_and_the_portable_bytes(op, cols):
    """One row (a classifier's QGemm at batch 1) or one output pixel (a conv over a 1x1 map, NCHW out) takes
    the one-position tiles: every channel count's last tile reads only its own weight panels."""
    rng = np.random.default_rng(RNG_SEED + 300 + cols)
    k = 75
    a = _random_q(rng, (1, k), np.uint8)
    w = rng.integers(-127, 128, (cols, k)).astype(np.int8)
    consts = {"as": np.float32(0.02), "az": np.uint8(7), "bs": rng.uniform(0.002, 0.01, cols).astype(np.float32),
              "bz": np.zeros(cols, np.int8), "c": rng.integers(-3000, 3000, cols).astype(np.int32),
              "ys": np.float32(0.3), "yz": np.uint8(120)}
    if op == "QGemm":
        consts["b"] = w
        node = Node("QGemm", ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"], ["y"], {"transB": 1},
                    name="qgemm", domain="com.microsoft")
        x, y_shape = a, (1, cols)
    else:
        consts["b"] = w.reshape(cols, k, 1, 1)
        node = Node("QLinearConv", ["a", "as", "az", "b", "bs", "bz", "ys", "yz", "c"], ["y"], {}, name="qconv")
        x, y_shape = a.reshape(1, k, 1, 1), (1, cols, 1, 1)
    graph = _graph([node], {"a": x}, consts, {"y": (y_shape, np.uint8)})
    got, want = _run(graph, {"a": x}, threads=2)
    _assert_requantised_close(got["y"], want["y"])
    portable, _ = _run(graph, {"a": x}, portable=True)
    np.testing.assert_array_equal(got["y"], portable["y"])


def _quantize_round_trip(x: np.ndarray, dtype, zero: int) -> Graph:
    """QuantizeLinear (scale 0.05, ``zero`` of ``dtype``) then DequantizeLinear of ``x``; outputs y and q."""
    consts = {"s": np.float32(0.05), "z": np.array(zero, dtype)}
    nodes = [Node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             Node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dequant")]
    graph = _graph(nodes, {"x": x}, consts, {"y": (x.shape, np.float32)})
    graph.values["q"] = Value("q", DType.from_numpy(np.dtype(dtype)), x.shape)
    graph.outputs.append("q")
    return graph


@pytest.mark.parametrize("size,kernel,threads", [(7, 1, 1), (7, 3, 2), (5, 1, 2), (13, 3, 1)])
def test_a_last_lone_position_takes_the_one_position_tile(size, kernel, threads):
    """Maps whose positions leave one over after the six-position tiles (7x7: 49, 5x5: 25, 13x13: 169) end on a
    one-position tile: numpy's values and the portable C's bytes, NCHW output, 1..80 channels."""
    rng = np.random.default_rng(RNG_SEED + 400 + size * 10 + kernel)
    c, m = 24, 80
    consts = {"xs": np.float32(0.02), "z": np.uint8(9), "ws": rng.uniform(0.002, 0.01, m).astype(np.float32),
              "wz": np.zeros(m, np.int8), "w": rng.integers(-127, 128, (m, c, kernel, kernel)).astype(np.int8),
              "ys": np.float32(0.2), "yz": np.uint8(100), "b": rng.integers(-2000, 2000, m).astype(np.int32)}
    node = Node("QLinearConv", ["x", "xs", "z", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                {"pads": [kernel // 2] * 4}, name="qconv")
    x = _random_q(rng, (1, c, size, size), np.uint8)
    graph = _graph([node], {"x": x}, consts, {"y": ((1, m, size, size), np.uint8)})
    got, want = _run(graph, {"x": x}, threads=threads)
    _assert_requantised_close(got["y"], want["y"])
    portable, _ = _run(graph, {"x": x}, portable=True, threads=threads)
    np.testing.assert_array_equal(got["y"], portable["y"])


def _tile_chain(case: int, channels: int, m: int, size: tuple[int, int], kernel: int, dilation: int, n: int,
                stride: int = 1):
    """1x1 conv (5 -> ``channels``, NHWC out) -> ``kernel`` x ``kernel`` conv, ``stride``, ``dilation``, same
    padding (``channels`` -> ``m``, NHWC in and out) -> 1x1 conv (m -> 7, NCHW out): the middle one is what the
    AMX path takes (channels in whole 64s, stride 1 or 2, channels-last output)."""
    rng = np.random.default_rng(RNG_SEED + 700 + case)
    dtype = (np.uint8, np.int8)[case % 2]
    h, w = size
    consts = {"s": np.float32(0.03), "z": _random_q(rng, (), dtype), "b2": rng.integers(-20000, 20000, m).astype(np.int32),
              "w1": rng.integers(-127, 128, (channels, 5, 1, 1)).astype(np.int8),
              "w2": rng.integers(-127, 128, (m, channels, kernel, kernel)).astype(np.int8),
              "w3": rng.integers(-127, 128, (7, m, 1, 1)).astype(np.int8)}
    for name, count in (("1", channels), ("2", m), ("3", 7)):
        consts["ws" + name] = rng.uniform(0.001, 0.01, count).astype(np.float32)
        consts["wz" + name] = np.zeros(count, np.int8)
    pad = dilation * (kernel // 2)
    nodes = [Node("QLinearConv", ["x", "s", "z", "w1", "ws1", "wz1", "s", "z"], ["a"], {}, name="c1"),
             Node("QLinearConv", ["a", "s", "z", "w2", "ws2", "wz2", "s", "z", "b2"], ["b"],
                  {"pads": [pad] * 4, "dilations": [dilation] * 2, "strides": [stride] * 2}, name="c2"),
             Node("QLinearConv", ["b", "s", "z", "w3", "ws3", "wz3", "s", "z"], ["y"], {}, name="c3")]
    x = _random_q(rng, (n, 5, h, w), dtype)
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    graph = _graph(nodes, {"x": x}, consts, {"y": ((n, 7, oh, ow), dtype)})
    graph.values["a"] = Value("a", DType.from_numpy(np.dtype(dtype)), (n, channels, h, w))
    graph.values["b"] = Value("b", DType.from_numpy(np.dtype(dtype)), (n, m, oh, ow))
    return graph, x


@pytest.mark.parametrize("case, channels, m, size, kernel, dilation, n, stride", [
    (0, 64, 64, (7, 7), 3, 1, 1, 1), (1, 64, 40, (13, 11), 3, 1, 2, 1), (2, 128, 100, (5, 9), 1, 1, 1, 1),
    (3, 64, 17, (20, 3), 3, 2, 1, 1), (4, 192, 33, (1, 1), 3, 1, 1, 1), (5, 64, 16, (6, 6), 5, 1, 1, 1),
    (6, 128, 96, (14, 14), 3, 1, 1, 1), (7, 64, 64, (14, 14), 3, 1, 1, 2), (8, 128, 50, (13, 9), 3, 1, 2, 2),
    (9, 64, 32, (8, 11), 1, 1, 1, 2), (10, 64, 20, (15, 15), 5, 2, 1, 2), (11, 64, 64, (2, 3), 3, 1, 1, 2),
    (12, 96, 40, (9, 9), 3, 1, 1, 1), (13, 100, 33, (7, 5), 1, 1, 1, 2), (14, 48, 64, (6, 13), 3, 1, 2, 1),
    (15, 160, 17, (5, 5), 3, 1, 1, 2)])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_int8_tile_convolutions_give_the_portable_bytes(case, channels, m, size, kernel, dilation, n, stride,
                                                         threads):
    """Convolutions of stride 1 or 2 over 48 channels or more with channels-last output run on AMX tiles where
    the CPU has AMX-INT8 (weights in whole 64-channel tiles, zero past the channels, a pixel's last step reading
    into the next pixel's bytes: 48, 96, 100, 160 channels; blocks of 32 flat positions of the padded image or,
    strided, of its phase planes; the padding columns computed and dropped, the last block's rows past the
    input reading the buffer's slack; 32-channel blocks, 16 or fewer valid in the last): the same integer sums
    as the portable C, so the same bytes, and numpy's values.  Elsewhere the VNNI tiles run them, to the same
    bytes."""
    graph, x = _tile_chain(case, channels, m, size, kernel, dilation, n, stride)
    got, want = _run(graph, {"x": x}, threads=threads)
    _assert_requantised_close(got["y"], want["y"])
    portable, _ = _run(graph, {"x": x}, portable=True, threads=threads)
    np.testing.assert_array_equal(got["y"], portable["y"])


@pytest.mark.skipif(module() is None or not module().int8_amx(), reason="no AMX-INT8 here: the VNNI tiles ran above")
def test_vnni_tiles_where_amx_is_declined():
    """LITERT_CPU_AMX=0 declines AMX for the process: the tile-shaped convolutions above then run on the VNNI
    tiles, so a machine with AMX checks both int8 paths against the portable bytes."""
    env = {**os.environ, "LITERT_CPU_AMX": "0"}
    probe = subprocess.run([sys.executable, "-c", "from litert_cpu.native import module; print(module().int8_amx())"],
                           env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
                          "tile_convolutions"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1]


@pytest.mark.parametrize("dtype, zero", [(np.uint8, 131), (np.int8, -7)])
def test_quantize_dequantize_match_numpy_exactly(dtype, zero):
    rng = np.random.default_rng(RNG_SEED + 200)
    x = (rng.standard_normal((3, 5, 7, 11)) * 4).astype(np.float32)
    x.flat[:4] = [0.025, -0.025, 0.075, 1e5]  # halves round to even; far out of range saturates
    graph = _quantize_round_trip(x, dtype, zero)
    got, want = _run(graph, {"x": x})
    np.testing.assert_array_equal(got["q"], want["q"])
    np.testing.assert_array_equal(got["y"], want["y"])


@pytest.mark.parametrize("dtype, zero", [(np.uint8, 131), (np.int8, -7)])
@pytest.mark.parametrize("size", [1, 15, 16, 1155, 40_001])
def test_quantize_dequantize_vector_and_portable_paths_give_the_same_values(dtype, zero, size):
    """The AVX-512 conversions against the portable C on any length (whole vectors, tails, one task or
    several) and on what a hostile input holds: NaN (the zero point), infinities and huge values (saturated)."""
    rng = np.random.default_rng(RNG_SEED + 201)
    x = (rng.standard_normal(size) * 4).astype(np.float32)
    x[:6] = [np.nan, np.inf, -np.inf, 1e30, -0.025, 0.075][:min(6, size)]
    graph = _quantize_round_trip(x, dtype, zero)
    fast, _ = _run(graph, {"x": x}, portable=False, threads=2)
    portable, _ = _run(graph, {"x": x}, portable=True, threads=2)
    np.testing.assert_array_equal(fast["q"], portable["q"])
    np.testing.assert_array_equal(fast["y"], portable["y"])
    if size > 1:
        info = np.iinfo(dtype)
        assert list(fast["q"][1:3]) == [info.max, info.min]


def test_program_refuses_out_of_range_int8_steps():
    native = module()
    # n c h w m oh ow kh kw sh sw dh dw pt pl groups x_zero x_signed y_zero y_lo y_hi channels_last
    good = (1, 4, 5, 5, 8, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 3, 0, 0, 0, 255, 0)
    packed = native.qconv_packed_bytes(8, 4, 3, 3)
    sizes = [4 * 25, packed, 8 * 4, 8 * 4, 8 * 25]
    program = native.Program(sizes)
    assert program.add(native.STEP_QCONV2D, (0, 1, 2, 3, 4), good, ()) == 0
    bad = [
        good[:4] + (9,) + good[5:],           # 9 output channels: the bias/scale/output slots are too small
        good[:19] + (10, 5) + good[21:],       # y_lo > y_hi
        good[:19] + (-1, 255) + good[21:],     # a clamp that is neither uint8 nor int8
        good[:16] + (256,) + good[17:],        # input zero point outside uint8
        good[:5] + (6,) + good[6:],            # 6 output rows: past the output slot
    ]
    for ints in bad:
        with pytest.raises(ValueError):
            program.add(native.STEP_QCONV2D, (0, 1, 2, 3, 4), ints, ())
    with pytest.raises(ValueError):  # depthwise needs groups == c == m
        program.add(native.STEP_QDWCONV2D, (0, 1, 2, 3, 4), good, ())
    with pytest.raises(ValueError):  # a quantisation scale must be positive
        program.add(native.STEP_QUANTIZE, (0, 4), (8, 0, 0, 255, 0), (0.0,))


def test_weight_packing_checks_buffer_sizes():
    native = module()
    weights = np.zeros((8, 4, 3, 3), np.int8)
    with pytest.raises(ValueError, match="pack_qconv_weights: out has 10 bytes"):
        native.pack_qconv_weights(weights, 8, 4, 3, 3, np.empty(10, np.int8))
    with pytest.raises(ValueError, match="pack_qconv_weights: w has"):
        native.pack_qconv_weights(weights, 9, 4, 3, 3, np.empty(native.qconv_packed_bytes(9, 4, 3, 3), np.int8))


class _Outputs:
    """Node hooks that keep a copy of every node's outputs."""

    def __init__(self):
        self.outputs = {}

    def before_node(self, node, backend):
        pass

    def after_node(self, node, backend, outputs):
        self.outputs[node.name] = [None if o is None else np.array(o) for o in outputs]


def test_hooks_see_channels_last_activations_in_the_graphs_layout():
    """compare and the profiler read every node's output: a tensor the arena holds NHWC is shown NCHW."""
    graph, x = _channels_last_chain(5)
    ctx = CompileContext(threads=2, opsets={"": 21})
    native, reference = CpuPartition(graph, ctx, native=True), CpuPartition(graph, ctx, native=False)
    seen, want = _Outputs(), _Outputs()
    native.run({"x": x}, hooks=seen)
    reference.run({"x": x}, hooks=want)
    for name in ("c1", "c2", "c3"):
        _assert_requantised_close(seen.outputs[name][0], want.outputs[name][0])


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_qdq_residual_add_is_one_step_with_the_same_bytes(relu, dtype):
    """DQ(a) + DQ(b) [-> Relu] -> Q between two int8 convolutions becomes one QADD step whose bytes equal the
    unfused steps' (the partition hooks run, built with fuse=False) exactly."""
    rng = np.random.default_rng(RNG_SEED + relu)
    c, h, w = 24, 9, 13
    consts = {"s": np.float32(0.03), "z": _random_q(rng, (), dtype), "s2": np.float32(0.05),
              "z2": _random_q(rng, (), dtype), "s3": np.float32(0.07), "z3": _random_q(rng, (), dtype),
              "ws": rng.uniform(0.001, 0.01, c).astype(np.float32), "wz": np.zeros(c, np.int8),
              "w1": rng.integers(-127, 128, (c, c, 1, 1)).astype(np.int8),
              "w2": rng.integers(-127, 128, (c, c, 3, 3)).astype(np.int8)}
    nodes = [Node("QLinearConv", ["x", "s", "z", "w1", "ws", "wz", "s", "z"], ["t"], {}, name="c0"),
             Node("QLinearConv", ["t", "s", "z", "w1", "ws", "wz", "s2", "z2"], ["a"], {}, name="c1"),
             Node("DequantizeLinear", ["a", "s2", "z2"], ["fa"], name="dqa"),
             Node("DequantizeLinear", ["t", "s", "z"], ["fx"], name="dqx"),
             Node("Add", ["fa", "fx"], ["sum"], name="add")]
    last = "sum"
    if relu:
        nodes.append(Node("Relu", ["sum"], ["r"], name="relu"))
        last = "r"
    nodes += [Node("QuantizeLinear", [last, "s3", "z3"], ["q"], name="q"),
              Node("QLinearConv", ["q", "s3", "z3", "w2", "ws", "wz", "s", "z"], ["y"], {"pads": [1] * 4},
                   name="c2")]
    x = _random_q(rng, (1, c, h, w), dtype)
    graph = _graph(nodes, {"x": x}, consts, {"y": ((1, c, h, w), dtype)})
    qt = DType.from_numpy(np.dtype(dtype))
    for name in ("t", "a", "q"):
        graph.values[name] = Value(name, qt, (1, c, h, w))
    for name in ("fa", "fx", "sum", "r"):
        graph.values[name] = Value(name, DType.from_numpy(np.dtype(np.float32)), (1, c, h, w))
    ctx = CompileContext(threads=2, opsets={"": 21})
    fused = CpuPartition(graph, ctx, native=True)
    (segment,) = fused.native_segments
    assert module().STEP_QADD in segment.step_kinds
    assert module().STEP_BINARY not in segment.step_kinds and module().STEP_DEQUANTIZE not in segment.step_kinds
    unfused = CpuPartition(graph, ctx, native=True, fuse=False)
    (plain,) = unfused.native_segments
    assert module().STEP_QADD not in plain.step_kinds
    np.testing.assert_array_equal(fused.run({"x": x})["y"], unfused.run({"x": x})["y"])
    module().qconv_force_portable(True)
    try:
        portable = fused.run({"x": x})["y"]
    finally:
        module().qconv_force_portable(False)
    np.testing.assert_array_equal(fused.run({"x": x})["y"], portable)  # the vector and portable paths alike
    # and the fused step's operands are the channels-last activations of the convolutions around it
    assert {"t", "a", "q"} <= segment._channels_last


def test_a_job_of_more_tasks_than_a_claim_word_counts_runs_every_task():
    """The int8 conv pads its input row by row, one task per padded row: 70,000 rows are more tasks than
    the thread pool's 16-bit claim indices hold, so the job runs as blocks, each task once."""
    rng = np.random.default_rng(RNG_SEED + 7)
    x = _random_q(rng, (1, 4, 70000, 1), np.uint8)
    consts = {"s": np.float32(0.02), "z": np.uint8(7), "w": rng.integers(-127, 128, (3, 4, 1, 1)).astype(np.int8),
              "ws": np.float32(0.01), "wz": np.int8(0)}
    node = Node("QLinearConv", ["x", "s", "z", "w", "ws", "wz", "s", "z"], ["y"], {}, name="tall")
    graph = _graph([node], {"x": x}, consts, {"y": ((1, 3, 70000, 1), np.uint8)})
    got, want = _run(graph, {"x": x}, threads=2)
    _assert_requantised_close(got["y"], want["y"])


@pytest.mark.parametrize("window", [(2, 1), (1, 2)], ids=["stride2", "dilated"])  # (stride, dilation), pads 1
@pytest.mark.parametrize("same_params", [True, False], ids=["same-params", "table"])
@pytest.mark.parametrize("between_convs", [True, False], ids=["nhwc", "nchw"])
def test_qdq_max_pool_is_one_step_with_the_same_bytes(same_params, between_convs, window):
    """DQ -> MaxPool -> Q over uint8 becomes one QMAXPOOL step (the window's max, through a Q(DQ(v)) table
    when the two sides' parameters differ), byte for byte the unfused steps' result; channels-last between
    int8 convolutions, NCHW when its input comes from outside the segment; strided, and dilated so that
    windows reach past both borders."""
    stride, dilation = window
    rng = np.random.default_rng(RNG_SEED + 11)
    c, h, w = 20, 13, 11
    consts = {"s": np.float32(0.04), "z": np.uint8(9), "s2": np.float32(0.04 if same_params else 0.057),
              "z2": np.uint8(9 if same_params else 3), "ws": rng.uniform(0.001, 0.01, c).astype(np.float32),
              "wz": np.zeros(c, np.int8), "w": rng.integers(-127, 128, (c, c, 1, 1)).astype(np.int8)}
    pool_in = "a" if between_convs else "x"
    nodes = ([Node("QLinearConv", ["x", "s", "z", "w", "ws", "wz", "s", "z"], ["a"], {}, name="c1")]
             if between_convs else [])
    nodes += [Node("DequantizeLinear", [pool_in, "s", "z"], ["f"], name="dq"),
              Node("MaxPool", ["f"], ["p"], {"kernel_shape": [3, 3], "strides": [stride] * 2, "pads": [1, 1, 1, 1],
                                             "dilations": [dilation] * 2}, name="pool"),
              Node("QuantizeLinear", ["p", "s2", "z2"], ["q"], name="q"),
              Node("QLinearConv", ["q", "s2", "z2", "w", "ws", "wz", "s", "z"], ["y"], {}, name="c2")]
    x = _random_q(rng, (1, c, h, w), np.uint8)
    oh, ow = ((d + 2 - 2 * dilation - 1) // stride + 1 for d in (h, w))
    graph = _graph(nodes, {"x": x}, consts, {"y": ((1, c, oh, ow), np.uint8)})
    u8, f32 = DType.from_numpy(np.dtype(np.uint8)), DType.from_numpy(np.dtype(np.float32))
    graph.values["a"] = Value("a", u8, (1, c, h, w))
    graph.values["f"] = Value("f", f32, (1, c, h, w))
    graph.values["p"] = Value("p", f32, (1, c, oh, ow))
    graph.values["q"] = Value("q", u8, (1, c, oh, ow))
    ctx = CompileContext(threads=2, opsets={"": 21})
    fused = CpuPartition(graph, ctx, native=True)
    (segment,) = fused.native_segments
    assert module().STEP_QMAXPOOL in segment.step_kinds and module().STEP_POOL2D not in segment.step_kinds
    assert ("q" in segment._channels_last) == between_convs
    unfused = CpuPartition(graph, ctx, native=True, fuse=False)
    assert module().STEP_QMAXPOOL not in unfused.native_segments[0].step_kinds
    np.testing.assert_array_equal(fused.run({"x": x})["y"], unfused.run({"x": x})["y"])
