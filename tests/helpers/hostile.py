"""Small ONNX models, valid and hostile, shared by the reliability tests and the fuzzers."""
from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def onnx_model(nodes, inputs, outputs, initializers=(), opset: int = 17) -> onnx.ModelProto:
    """A model from node protos and ``{name: (elem_type, shape)}`` inputs/outputs."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in outputs.items()],
        list(initializers),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def save(model: onnx.ModelProto, path: Path) -> Path:
    """Write without onnx.save's checks (hostile models must reach the reader as they are)."""
    path.write_bytes(model.SerializeToString())
    return path


F = TensorProto.FLOAT


def relu_chain(n: int = 2) -> onnx.ModelProto:
    names = ["x"] + [f"h{i}" for i in range(n - 1)] + ["y"]
    nodes = [helper.make_node("Relu", [a], [b], name=f"relu{i}") for i, (a, b) in enumerate(zip(names, names[1:]))]
    return onnx_model(nodes, {"x": (F, [2, 3])}, {"y": (F, [2, 3])})
