"""The executor's compile-time activation folding and run-time input donation:
results stay right, and nothing a caller or a later node can see is ever
overwritten (graph inputs, constants, arrays viewed by other values)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import litert

# these cases are about the numpy executor's activation folding and input donation
pytestmark = pytest.mark.usefixtures("numpy_kernels_only")


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _load(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, path)
    return litert.load(path, devices=["cpu"], threads=1, optimize="none")


class _Seen:
    """Hooks that keep every node's outputs (so nothing may be overwritten)."""

    def __init__(self):
        self.names, self.outputs = [], {}

    def before_node(self, node, backend):
        self.names.append(node.name)

    def after_node(self, node, backend, outputs):
        self.outputs[node.name] = [None if o is None else np.array(o) for o in outputs]


def _steps(session):
    [(_, _, part)] = session._compiled
    return part._steps


def test_relu_folded_into_add_and_hooks_still_see_both(tmp_path):
    model = _model(
        [helper.make_node("Add", ["x", "y"], ["s"], name="add"), helper.make_node("Relu", ["s"], ["r"], name="relu")],
        [("x", [2, 3]), ("y", [2, 3])], ["r"],
    )
    session = _load(model, tmp_path)
    assert [s.node.op_type for s in _steps(session)] == ["Add"]
    x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    y = np.full((2, 3), 0.5, np.float32)
    x0 = x.copy()
    seen = _Seen()
    [got] = session.predict({"x": x, "y": y}, hooks=seen)
    np.testing.assert_array_equal(got, np.maximum(x0 + y, 0))
    np.testing.assert_array_equal(x, x0)  # a graph input is never written
    assert seen.names == ["add", "relu"]
    np.testing.assert_array_equal(seen.outputs["add"][0], x0 + y)  # pre-activation value
    np.testing.assert_array_equal(seen.outputs["relu"][0], np.maximum(x0 + y, 0))


def test_no_folding_when_the_value_has_another_reader(tmp_path):
    model = _model(
        [helper.make_node("Add", ["x", "y"], ["s"]), helper.make_node("Relu", ["s"], ["r"]),
         helper.make_node("Mul", ["s", "r"], ["m"])],
        [("x", [4]), ("y", [4])], ["m"],
    )
    session = _load(model, tmp_path)
    assert [s.node.op_type for s in _steps(session)] == ["Add", "Relu", "Mul"]
    x = np.array([-2, -1, 1, 2], np.float32)
    y = np.zeros(4, np.float32)
    [got] = session.predict({"x": x, "y": y})
    np.testing.assert_array_equal(got, x * np.maximum(x, 0))


def test_a_viewed_value_is_not_donated(tmp_path):
    """``a`` dies at the Add, but ``v`` (a Reshape view of ``a``) is read
    after it: writing the Add's result over ``a`` would change ``v``."""
    shape = numpy_helper.from_array(np.array([2, 3], np.int64), "shape")
    model = _model(
        [helper.make_node("Mul", ["x", "two"], ["a"]), helper.make_node("Reshape", ["a", "shape"], ["v"]),
         helper.make_node("Add", ["a", "x"], ["b"]), helper.make_node("Sub", ["v", "b"], ["out"])],
        [("x", [2, 3])], ["out"],
        inits=[numpy_helper.from_array(np.array(2, np.float32), "two"), shape],
    )
    session = _load(model, tmp_path)
    add = next(s for s in _steps(session) if s.node.op_type == "Add")
    assert 0 in add.donate  # offered by liveness, refused at run time by the reference check
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    [got] = session.predict({"x": x})
    np.testing.assert_array_equal(got, 2 * x - (2 * x + x))


def test_donation_happens_and_results_match(tmp_path):
    model = _model(
        [helper.make_node("Mul", ["x", "two"], ["a"]), helper.make_node("Add", ["a", "one"], ["b"]),
         helper.make_node("Mul", ["b", "b"], ["c"]), helper.make_node("Relu", ["c"], ["d"])],
        [("x", [3, 4])], ["d"],
        inits=[numpy_helper.from_array(np.array(2, np.float32), "two"),
               numpy_helper.from_array(np.array(1, np.float32), "one")],
    )
    session = _load(model, tmp_path)
    steps = _steps(session)
    assert [s.node.op_type for s in steps] == ["Mul", "Add", "Mul"]  # Relu folded into the last Mul
    donated = []
    for step in steps:
        original = step.kernel.run

        def spy(*args, _run=original, **kw):
            donated.append("out" in kw)
            return _run(*args, **kw)

        step.kernel.run = spy
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    for _ in range(2):
        [got] = session.predict({"x": x})
        np.testing.assert_allclose(got, (2 * x + 1) ** 2, rtol=1e-6)
    assert donated[1] and donated[2]  # the Add and the second Mul wrote over dead inputs


@pytest.mark.parametrize("op,attrs,consts", [
    ("Clip", {}, [0.0, 6.0]), ("LeakyRelu", {"alpha": 0.2}, []), ("Sigmoid", {}, []), ("HardSigmoid", {}, []),
])
def test_folded_activations_match_unfolded(op, attrs, consts, tmp_path):
    inits = [numpy_helper.from_array(np.array(v, np.float32), f"c{i}") for i, v in enumerate(consts)]
    act = helper.make_node(op, ["s"] + [f"c{i}" for i in range(len(consts))], ["r"], **attrs)
    folded = _model([helper.make_node("Add", ["x", "y"], ["s"]), act], [("x", [5]), ("y", [5])], ["r"], inits)
    plain = _model([helper.make_node("Add", ["x", "y"], ["s"]), act], [("x", [5]), ("y", [5])], ["r", "s"], inits)
    a, b = _load(folded, tmp_path, "a.onnx"), _load(plain, tmp_path, "b.onnx")
    assert len(_steps(a)) == 1 and len(_steps(b)) == 2  # a graph output is never folded away
    feeds = {"x": np.array([-9, -1, 0, 1, 9], np.float32), "y": np.array([0.5, 0, 0, 2, 1], np.float32)}
    np.testing.assert_allclose(a.predict(feeds)[0], b.predict(feeds)[0], rtol=1e-6)


def test_recycler_reuses_only_released_arrays():
    from litert_cpu.kernels.nn._common import _Recycler

    pool = _Recycler(min_bytes=1024)
    a = pool.empty((64, 64), np.float32)
    a_id = id(a)
    del a
    b = pool.empty((64, 64), np.float32)
    assert id(b) == a_id  # released: handed out again
    view = b[:8]
    c = pool.empty((64, 64), np.float32)
    assert c is not b and not np.shares_memory(c, view)  # b is still held (and viewed)
    assert pool.empty((4, 4), np.float32).base is None  # small requests are plain np.empty
