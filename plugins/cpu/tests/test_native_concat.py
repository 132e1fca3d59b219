"""Concat inputs written in place: the steps that make them write straight into their part of the
Concat's output, and the copies go (SqueezeNet's fire modules, Inception's branches)."""
from __future__ import annotations

import numpy as np
import pytest

from litert.backend import CompileContext
from litert.ir import DType, Graph, Node, Value
from litert_cpu.executor import CpuPartition
from litert_cpu.native import module, status

pytestmark = pytest.mark.skipif(module() is None, reason=f"native kernels inactive: {status().detail}")

F32 = DType.from_numpy(np.dtype(np.float32))


def _fire(outputs: list[str], h: int = 8, w: int = 8) -> tuple[Graph, np.ndarray]:
    """x -> squeeze 1x1 -> (expand 1x1 | expand 3x3) -> Concat -> Relu, outputs as named; on an 8x8 map
    the second input's part starts 64-byte aligned (5 x 64 floats in)."""
    rng = np.random.default_rng(7)
    consts = {"ws": rng.standard_normal((8, 6, 1, 1)), "we1": rng.standard_normal((5, 8, 1, 1)),
              "we3": rng.standard_normal((7, 8, 3, 3)), "b": rng.standard_normal(8)}
    nodes = [Node("Conv", ["x", "ws", "b"], ["s"], {}, name="squeeze"),
             Node("Conv", ["s", "we1"], ["e1"], {}, name="expand1"),
             Node("Conv", ["s", "we3"], ["e3"], {"pads": [1, 1, 1, 1]}, name="expand3"),
             Node("Concat", ["e1", "e3"], ["cat"], {"axis": 1}, name="concat"),
             Node("Relu", ["cat"], ["y"], name="relu")]
    values = {"x": Value("x", F32, (1, 6, h, w))}
    for name, array in consts.items():
        values[name] = Value(name, F32, array.shape, const=array.astype(np.float32))
    for name, channels in (("s", 8), ("e1", 5), ("e3", 7), ("cat", 12), ("y", 12)):
        values[name] = Value(name, F32, (1, channels, h, w))
    graph = Graph(nodes=nodes, inputs=["x"], outputs=outputs, values=values, name="fire")
    return graph, rng.standard_normal((1, 6, h, w)).astype(np.float32)


@pytest.mark.parametrize("threads", [1, 2])
def test_concat_inputs_are_written_in_place(threads):
    graph, x = _fire(["y"])
    ctx = CompileContext(threads=threads, opsets={"": 21})
    native = CpuPartition(graph, ctx, native=True)
    (segment,) = native.native_segments
    assert module().STEP_COPY not in segment.step_kinds  # both expand convs write into the Concat's output
    got, want = native.run({"x": x}), CpuPartition(graph, ctx, native=False).run({"x": x})
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-5, atol=1e-5)


def test_an_input_that_leaves_the_segment_is_still_copied():
    """e1 is a graph output (its own array): it cannot live inside the Concat's arena block."""
    graph, x = _fire(["y", "e1"])
    ctx = CompileContext(threads=2, opsets={"": 21})
    native = CpuPartition(graph, ctx, native=True)
    (segment,) = native.native_segments
    assert segment.step_kinds.count(module().STEP_COPY) == 1  # e1's copy; e3 is in place
    got, want = native.run({"x": x}), CpuPartition(graph, ctx, native=False).run({"x": x})
    for name in ("y", "e1"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)


def test_a_part_that_starts_unaligned_is_copied():
    """On a 9x11 map the second part starts 1980 bytes in: arena slots are 64-byte aligned, so it is copied."""
    graph, x = _fire(["y"], 9, 11)
    ctx = CompileContext(threads=2, opsets={"": 21})
    native = CpuPartition(graph, ctx, native=True)
    (segment,) = native.native_segments
    assert segment.step_kinds.count(module().STEP_COPY) == 1
    got, want = native.run({"x": x}), CpuPartition(graph, ctx, native=False).run({"x": x})
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-5, atol=1e-5)


def _dense_block(layers: int, growth: int = 4, h: int = 8, w: int = 8) -> tuple[Graph, dict[str, np.ndarray]]:
    """DenseNet's block: layer i reads Relu(the block so far) through a 1x1 conv into `growth` channels, and
    Concat(the block so far, that) is the block after it; every Concat's output is read by the next layer and
    by the next Concat."""
    rng = np.random.default_rng(11)
    values = {"x": Value("x", F32, (1, 8, h, w))}
    nodes: list[Node] = []
    block, channels = "x", 8
    for i in range(layers):
        weight = rng.standard_normal((growth, channels, 1, 1)).astype(np.float32)
        values[f"w{i}"] = Value(f"w{i}", F32, weight.shape, const=weight)
        nodes += [Node("Relu", [block], [f"r{i}"], name=f"relu{i}"),
                  Node("Conv", [f"r{i}", f"w{i}"], [f"c{i}"], {}, name=f"conv{i}"),
                  Node("Concat", [block, f"c{i}"], [f"cat{i}"], {"axis": 1}, name=f"concat{i}")]
        values[f"r{i}"] = Value(f"r{i}", F32, (1, channels, h, w))
        values[f"c{i}"] = Value(f"c{i}", F32, (1, growth, h, w))
        channels += growth
        values[f"cat{i}"] = Value(f"cat{i}", F32, (1, channels, h, w))
        block = f"cat{i}"
    nodes.append(Node("Relu", [block], ["y"], name="out"))
    values["y"] = Value("y", F32, (1, channels, h, w))
    graph = Graph(nodes=nodes, inputs=["x"], outputs=["y"], values=values, name="dense")
    return graph, {"x": rng.standard_normal((1, 8, h, w)).astype(np.float32)}


@pytest.mark.parametrize("threads", [1, 2])
def test_a_dense_block_lives_in_its_last_concat(threads):
    """Each layer's Concat output is placed in the next layer's, so only the block's input is copied (it is
    the segment's input, not a step's output): every conv writes its channels straight into the last Concat's
    storage, and the arena holds that storage once instead of every Concat's copy."""
    graph, inputs = _dense_block(4)
    ctx = CompileContext(threads=threads, opsets={"": 21})
    native = CpuPartition(graph, ctx, native=True)
    (segment,) = native.native_segments
    assert segment.step_kinds.count(module().STEP_COPY) == 1  # x into the first Concat
    got, want = native.run(inputs), CpuPartition(graph, ctx, native=False).run(inputs)
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-5, atol=1e-5)
