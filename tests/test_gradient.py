"""Gradient (ai.onnx.preview.training) lowered to a backward graph, checked
against finite differences of the summed output."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import litert
from litert.errors import UnsupportedOperatorError

F = TensorProto.FLOAT


def _model(tmp_path, nodes, inputs, outputs):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
                              [helper.make_tensor_value_info(n, F, None) for n in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.preview.training", 1)])
    path = tmp_path / "grad.onnx"
    onnx.save(model, path)
    return path


def test_gradient_matches_finite_differences(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["a", "w"], ["m"]),
        helper.make_node("Add", ["m", "bias"], ["c"]),          # bias broadcast over rows
        helper.make_node("Tanh", ["c"], ["t"]),
        helper.make_node("Mul", ["t", "c"], ["d"]),
        helper.make_node("Gradient", ["a", "w", "bias"], ["da", "dw", "dbias"], domain="ai.onnx.preview.training",
                         xs=["a", "w", "bias"], y="d"),
    ]
    path = _model(tmp_path, nodes, [("a", [3, 4]), ("w", [4, 2]), ("bias", [2])], ["d", "da", "dw", "dbias"])
    rng = np.random.default_rng(0)
    feeds = {"a": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 2)), "bias": rng.standard_normal(2)}
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    session = litert.load(path, optimize="none")
    _, *grads = session.predict(feeds)

    def total(values):
        c = values["a"].astype(np.float64) @ values["w"] + values["bias"]
        return float(np.sum(np.tanh(c) * c))

    for name, grad in zip(("a", "w", "bias"), grads):
        assert grad.shape == feeds[name].shape
        numeric = np.zeros(feeds[name].shape)
        for index in np.ndindex(feeds[name].shape):
            up = {k: v.astype(np.float64).copy() for k, v in feeds.items()}
            down = {k: v.astype(np.float64).copy() for k, v in feeds.items()}
            up[name][index] += 1e-5
            down[name][index] -= 1e-5
            numeric[index] = (total(up) - total(down)) / 2e-5
        np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


def test_gradient_through_an_op_without_rule_is_named(tmp_path):
    nodes = [
        helper.make_node("Softmax", ["a"], ["s"], name="soft"),
        helper.make_node("Gradient", ["a"], ["da"], domain="ai.onnx.preview.training", xs=["a"], y="s", name="grad"),
    ]
    path = _model(tmp_path, nodes, [("a", [2, 3])], ["da"])
    with pytest.raises(UnsupportedOperatorError, match="no derivative rule for Softmax"):
        litert.load(path)
