"""Small ONNX models, valid and hostile, and hostile variants of any model file; shared by the reliability
and bad-input tests and the fuzzers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
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


def mutations(data: bytes, seed: int, cuts: int = 60, flips: int = 80) -> list[bytes]:
    """Hostile variants of a model file's bytes: about ``cuts`` truncations at even steps, then ``flips`` copies
    with one to five random bytes overwritten (seeded: the same cases every run)."""
    rng = np.random.default_rng(seed)
    cases = [data[:cut] for cut in range(0, len(data), max(1, len(data) // cuts))]
    for _ in range(flips):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 6))):
            buf[pos] = int(rng.integers(0, 256))
        cases.append(bytes(buf))
    return cases
