"""Bad frozen GraphDefs give a typed litert error, never a bare exception (the .ms tests' style).

The graphs are built here with litert's own protos, so no TensorFlow is needed.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers.hostile import mutations

from litert.errors import LitertError, ModelLoadError, UnsupportedOperatorError
from litert.runtime.loading import read_model
from litert_formats.tf import graph_pb2


def _const(graph, name, array):
    node = graph.node.add(name=name, op="Const")
    value = node.attr["value"].tensor
    value.dtype = 1
    value.tensor_shape.dim.extend([graph_pb2.TensorShapeProto.Dim(size=d) for d in array.shape])
    value.tensor_content = np.ascontiguousarray(array, np.float32).tobytes()
    node.attr["dtype"].type = 1
    return node


def small_graph() -> graph_pb2.GraphDef:
    """x [1,8,8,3] -> Conv2D (3x3, SAME) -> BiasAdd -> Relu -> MatMul after a Reshape."""
    g = graph_pb2.GraphDef()
    x = g.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = 1
    x.attr["shape"].shape.dim.extend([graph_pb2.TensorShapeProto.Dim(size=d) for d in (1, 8, 8, 3)])
    rng = np.random.default_rng(0)
    _const(g, "w", rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
    _const(g, "b", rng.standard_normal(4).astype(np.float32))
    conv = g.node.add(name="conv", op="Conv2D", input=["x", "w"])
    conv.attr["strides"].list.i.extend([1, 1, 1, 1])
    conv.attr["padding"].s = b"SAME"
    g.node.add(name="bias", op="BiasAdd", input=["conv", "b"])
    g.node.add(name="relu", op="Relu", input=["bias"])
    shape = g.node.add(name="shape", op="Const")
    shape.attr["value"].tensor.dtype = 3
    shape.attr["value"].tensor.tensor_shape.dim.add(size=2)
    shape.attr["value"].tensor.int_val.extend([1, 256])
    g.node.add(name="flat", op="Reshape", input=["relu", "shape"])
    _const(g, "fc", rng.standard_normal((256, 5)).astype(np.float32))
    g.node.add(name="y", op="MatMul", input=["flat", "fc"])
    return g


def _save(tmp_path, graph, name="m.pb"):
    path = tmp_path / name
    path.write_bytes(graph.SerializeToString())
    return path


def test_the_base_graph_loads_and_runs(tmp_path):
    import litert

    session = litert.load(_save(tmp_path, small_graph()))
    out = session.run({"x": np.ones((1, 8, 8, 3), np.float32)})
    assert out["y"].shape == (1, 5) and np.isfinite(out["y"]).all()


def test_truncated_and_flipped_files_give_typed_errors(tmp_path):
    data = small_graph().SerializeToString()
    outcomes = {"loaded": 0, "error": 0}
    cases = mutations(data, seed=0, flips=100)
    for i, case in enumerate(cases):
        path = tmp_path / f"case{i}.pb"
        path.write_bytes(case)
        try:  # a cut between two nodes can leave a smaller valid graph: loading it is fine
            read_model(path)
            outcomes["loaded"] += 1
        except LitertError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == len(cases)


def test_garbage_empty_and_missing(tmp_path):
    (tmp_path / "junk.pb").write_bytes(b"\xff\xfe this is not a protobuf \x00\x01")
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "junk.pb")
    (tmp_path / "empty.pb").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        read_model(tmp_path / "empty.pb")
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "absent.pb")


def test_unknown_op_is_named(tmp_path):
    g = small_graph()
    g.node.add(name="mystery", op="MyCustomOp", input=["y"])
    with pytest.raises(UnsupportedOperatorError, match="MyCustomOp") as err:
        read_model(_save(tmp_path, g))
    assert err.value.node == "mystery" and err.value.op_type == "MyCustomOp"


def test_constant_with_the_wrong_byte_count(tmp_path):
    g = small_graph()
    w = next(n for n in g.node if n.name == "w")
    w.attr["value"].tensor.tensor_content = w.attr["value"].tensor.tensor_content[:-4]
    with pytest.raises(ModelLoadError, match="bytes for a"):
        read_model(_save(tmp_path, g))


def test_input_from_a_missing_node_and_a_cycle(tmp_path):
    g = small_graph()
    next(n for n in g.node if n.name == "relu").input[0] = "nowhere"
    with pytest.raises(ModelLoadError, match="nowhere"):
        read_model(_save(tmp_path, g))
    g = small_graph()
    next(n for n in g.node if n.name == "bias").input[0] = "relu"
    with pytest.raises(ModelLoadError, match="cycle"):
        read_model(_save(tmp_path, g, "cycle.pb"))


def test_computed_filter_is_refused_clearly(tmp_path):
    g = small_graph()
    next(n for n in g.node if n.name == "conv").input[1] = "x"
    with pytest.raises(UnsupportedOperatorError, match="conv"):
        read_model(_save(tmp_path, g))
