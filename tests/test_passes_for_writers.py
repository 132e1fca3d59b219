"""The core rewrites a model writer runs before lowering to a format without Identity, QDQ weights or fused
operators (the ``.ms`` writer's preparation): each checked against what it must leave, independently of a writer.
The ``.ms`` byte-identity runs cover them end to end; these pin the rules themselves."""
from __future__ import annotations

import numpy as np
import pytest

from litert.ir import DType, Graph, Node, QuantParams, Value
from litert.passes.qdq import activation_params, quant_through_moves, quantised_constants
from litert.passes.simplify import drop_identities
from litert.quant.rewrite import dynamic_chains
from litert.schema.inference.nn import same_pads


def _f32(name, shape=(1, 4)):
    return Value(name, DType.FLOAT32, shape)


def test_drop_identities_keeps_the_output_name_and_renames_readers():
    graph = Graph(nodes=[Node("Relu", ["x"], ["r"]), Node("Identity", ["r"], ["y"]), Node("Identity", ["y"], ["z"]),
                         Node("Neg", ["z"], ["w"])],
                  inputs=["x"], outputs=["y", "w"], values={n: _f32(n) for n in "xrwyz"})
    drop_identities(graph)
    assert [(n.op_type, n.inputs, n.outputs) for n in graph.nodes] == [("Relu", ["x"], ["y"]), ("Neg", ["y"], ["w"])]
    assert graph.outputs == ["y", "w"]


def test_drop_identities_leaves_an_input_copied_to_an_output():
    graph = Graph(nodes=[Node("Identity", ["x"], ["y"])], inputs=["x"], outputs=["y"], values={n: _f32(n) for n in "xy"})
    drop_identities(graph)
    assert [n.op_type for n in graph.nodes] == ["Identity"]


def test_quantised_constants_give_the_integer_weight_its_parameters():
    w = np.array([[1, -2], [3, 4]], np.int8)
    values = {"w": Value("w", DType.INT8, (2, 2), const=w),
              "s": Value("s", DType.FLOAT32, (2,), const=np.array([0.5, 0.25], np.float32)),
              "z": Value("z", DType.INT8, (2,), const=np.zeros(2, np.int8)), "x": _f32("x", (1, 2)), "wf": Value("wf"),
              "y": _f32("y", (1, 2))}
    graph = Graph(nodes=[Node("DequantizeLinear", ["w", "s", "z"], ["wf"], {"axis": 0}), Node("MatMul", ["x", "wf"], ["y"])],
                  inputs=["x"], outputs=["y"], values=values)
    quantised_constants(graph)
    assert [n.op_type for n in graph.nodes] == ["MatMul"]
    wf = graph.values["wf"]
    assert wf.dtype == DType.INT8 and wf.const is w and wf.quant.axis == 0
    np.testing.assert_array_equal(wf.quant.dequantize(wf.const), [[0.5, -1.0], [0.75, 1.0]])


@pytest.mark.parametrize("size, kernel, stride, dilation, lower, want", [
    (5, 3, 1, 1, False, (1, 1)), (6, 3, 2, 1, False, (0, 1)), (6, 3, 2, 1, True, (1, 0)), (7, 3, 1, 2, False, (2, 2)),
    (4, 1, 4, 1, False, (0, 0)),
])
def test_same_pads_give_ceil_size_over_stride_outputs(size, kernel, stride, dilation, lower, want):
    begin, end = same_pads(size, kernel, stride, dilation, lower)
    assert (begin, end) == want
    assert (size + begin + end - ((kernel - 1) * dilation + 1)) // stride + 1 == -(-size // stride)


def test_activation_params_flow_through_data_movement_only():
    values = {"x": _f32("x", (1, 4)), "s": Value("s", DType.FLOAT32, (), const=np.array(0.1, np.float32)),
              "z": Value("z", DType.INT8, (), const=np.array(3, np.int8)), "q": Value("q", DType.INT8, (1, 4)),
              "t": Value("t", DType.INT8, (4, 1)), "n": Value("n", DType.INT8, (4, 1))}
    quantize = Node("QuantizeLinear", ["x", "s", "z"], ["q"])
    graph = Graph(nodes=[quantize, Node("Transpose", ["q"], ["t"], {"perm": [1, 0]}), Node("Neg", ["t"], ["n"])],
                  inputs=["x"], outputs=["n"], values=values)
    params = activation_params(graph, quantize)
    assert params is not None and float(params.scale[0]) == pytest.approx(0.1) and int(params.zero_point[0]) == 3
    graph.values["q"].quant = params
    quant_through_moves(graph)
    assert graph.values["t"].quant is params and graph.values["n"].quant is None


def test_dynamic_chains_find_the_quantize_dynamic_chain_with_its_bias():
    w = np.array([[1, 2, 3], [4, 5, 6]], np.int8)
    values = {"x": _f32("x", (1, 2)), "w": Value("w", DType.INT8, (2, 3), const=w),
              "wz": Value("wz", DType.INT8, (3,), const=np.zeros(3, np.int8)),
              "ws": Value("ws", DType.FLOAT32, (3,), const=np.array([0.1, 0.2, 0.3], np.float32)),
              "b": Value("b", DType.FLOAT32, (3,), const=np.ones(3, np.float32))}
    nodes = [Node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]), Node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
             Node("Cast", ["acc"], ["accf"], {"to": DType.FLOAT32.value}), Node("Mul", ["xs", "ws"], ["scale"]),
             Node("Mul", ["accf", "scale"], ["r"]), Node("Add", ["r", "b"], ["y"])]
    graph = Graph(nodes=nodes, inputs=["x"], outputs=["y"], values=values)
    (chain,) = dynamic_chains(graph)
    assert chain.nodes == nodes and (chain.activation, chain.weight, chain.bias, chain.output) == ("x", "w", "b", "y")
    np.testing.assert_array_equal(chain.scale, values["ws"].const)
    graph.outputs.append("r")  # the rescaled product read outside the chain: not the bias form any more
    assert [c.output for c in dynamic_chains(graph)] == ["r"]


def test_dequantize_per_tensor_and_per_channel():
    q = np.array([[0, 10], [20, 30]], np.int8)
    np.testing.assert_array_equal(QuantParams(np.array([0.5], np.float32), np.array([10], np.int32)).dequantize(q),
                                  [[-5.0, 0.0], [5.0, 10.0]])
    per_row = QuantParams(np.array([1.0, 2.0], np.float32), np.array([0, 10], np.int32), axis=0)
    np.testing.assert_array_equal(per_row.dequantize(q), [[0.0, 10.0], [20.0, 40.0]])
