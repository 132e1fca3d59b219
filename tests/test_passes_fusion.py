"""The fusion passes: Caffe-style per-channel Mul/Add folded into Conv and
BatchNormalization, and ResNet's Conv + Add + Relu into FusedConv with a
residual.  Each rewritten model must compute what the original computes
(onnxruntime on the unoptimised file is the oracle)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers.oracle import assert_close_to_scale, ort_run
from onnx import TensorProto, helper, numpy_helper

import litert
from litert.ir import DType, Graph, Node, Value
from litert.passes.fusion import unfuse

RNG = np.random.default_rng(11)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def _save(tmp_path, nodes, inits, out_shape, name="m.onnx"):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], initializer=inits,
    )
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _check(path, changes: dict[str, int]):
    feeds = {"x": RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)}
    session = litert.load(path, devices=["cpu"])
    done: dict[str, int] = {}
    for r in session.pass_results:  # a pass that runs twice in the pipeline: its changes in all
        done[r.name] = done.get(r.name, 0) + r.changes
    for name, count in changes.items():
        assert done.get(name) == count, (name, done)
    [want] = ort_run(path, feeds)
    [got] = session.predict(feeds)
    assert_close_to_scale(got, want, tol=1e-5)
    return session


def test_conv_mul_add_relu_becomes_one_fused_conv(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c", "s"], ["m"]),
        helper.make_node("Add", ["t", "m"], ["a"]),  # constant first: order does not matter
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    inits = [_const("w", RNG.standard_normal((5, 4, 3, 3))), _const("b", RNG.standard_normal(5)),
             _const("s", RNG.uniform(0.5, 2, (5, 1, 1))), _const("t", RNG.standard_normal((1, 5, 1, 1)))]
    session = _check(_save(tmp_path, nodes, inits, [1, 5, 6, 6]), {"channel_affine_folding": 2})
    assert [n.op_type for n in session.model.graph.nodes] == ["FusedConv"]


def test_batchnorm_mul_add_fold_into_the_batchnorm(tmp_path):
    nodes = [
        helper.make_node("BatchNormalization", ["x", "g", "beta", "mean", "var"], ["n"]),
        helper.make_node("Mul", ["n", "s"], ["m"]),
        helper.make_node("Add", ["m", "t"], ["y"]),
    ]
    inits = [_const("g", RNG.uniform(0.5, 2, 4)), _const("beta", RNG.standard_normal(4)),
             _const("mean", RNG.standard_normal(4)), _const("var", RNG.uniform(0.5, 2, 4)),
             _const("s", RNG.uniform(0.5, 2, (4, 1, 1))), _const("t", [0.5])]
    session = _check(_save(tmp_path, nodes, inits, [1, 4, 6, 6]), {"channel_affine_folding": 2})
    assert [n.op_type for n in session.model.graph.nodes] == ["BatchNormalization"]


def test_a_non_channel_constant_is_not_folded(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Mul", ["c", "s"], ["y"]),  # varies along the width: not a per-channel scale
    ]
    inits = [_const("w", RNG.standard_normal((3, 4, 1, 1))), _const("s", RNG.standard_normal((1, 1, 1, 6)))]
    session = _check(_save(tmp_path, nodes, inits, [1, 3, 6, 6]), {"channel_affine_folding": 0})
    assert [n.op_type for n in session.model.graph.nodes] == ["Conv", "Mul"]


def test_residual_add_relu_fused_even_when_the_residual_is_made_later(tmp_path):
    """The main-branch conv comes first in the file, the shortcut conv second:
    the fused node must run where the Add ran, after both."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["main"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "w2"], ["short"]),
        helper.make_node("Sum", ["main", "short"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = [_const("w1", RNG.standard_normal((6, 4, 3, 3))), _const("b1", RNG.standard_normal(6)),
             _const("w2", RNG.standard_normal((6, 4, 1, 1)))]
    session = _check(_save(tmp_path, nodes, inits, [1, 6, 6, 6]), {"residual_fusion": 1})
    ops = [(n.op_type, len(n.inputs)) for n in session.model.graph.nodes]
    assert ops == [("Conv", 2), ("FusedConv", 4)]


def test_broadcasting_residual_is_left_alone(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Add", ["c", "r"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = [_const("w", RNG.standard_normal((3, 4, 1, 1))), _const("r", RNG.standard_normal((1, 1, 6, 6)))]
    _check(_save(tmp_path, nodes, inits, [1, 3, 6, 6]), {"residual_fusion": 0})


@pytest.mark.parametrize("activation, params, alpha, attrs, bounds", [
    ("Relu", [], None, {}, []),
    ("LeakyRelu", [0.3], None, {"alpha": pytest.approx(0.3)}, []),
    ("LeakyRelu", [], 0.25, {"alpha": 0.25}, []),  # FusedGemm's activation_alpha
    ("LeakyRelu", [], None, {"alpha": 0.01}, []),
    ("HardSigmoid", [0.25, 0.4], None, {"alpha": 0.25, "beta": pytest.approx(0.4)}, []),
    ("HardSigmoid", [], None, {"alpha": pytest.approx(0.2), "beta": 0.5}, []),
    ("Clip", [0.0, 6.0], None, {}, [0.0, 6.0]),
    ("Clip", [], None, {}, [-np.inf, np.inf]),  # a missing bound is no bound (litert.activations)
])
def test_unfuse_gives_the_standalone_activation_of_the_core_table(activation, params, alpha, attrs, bounds):
    """A writer's way back from FusedConv (.ms has no fused operators): the activation with its parameters."""
    fused_attrs = {"activation": activation, "activation_params": params}
    if alpha is not None:
        fused_attrs["activation_alpha"] = alpha
    graph = Graph(nodes=[Node("FusedConv", ["x", "w"], ["y"], fused_attrs, "conv", domain="com.microsoft")],
                  inputs=["x"], outputs=["y"],
                  values={"x": Value("x", DType.FLOAT32, (1, 1, 3, 3)),
                          "w": Value("w", DType.FLOAT32, (1, 1, 1, 1), const=np.ones((1, 1, 1, 1), np.float32))})
    unfuse(graph)
    conv, act = graph.nodes
    assert (conv.op_type, conv.domain, act.op_type, act.outputs) == ("Conv", "", activation, ["y"])
    assert act.inputs[0] == conv.outputs[0] and act.attrs == attrs
    assert [float(graph.values[name].const) for name in act.inputs[1:]] == bounds


def test_shape_simplification_removes_no_ops_and_merges_reshape_chains(tmp_path):
    """Identity, Dropout (mask unused), a Reshape to its own shape, an identity Transpose and a Cast to the same
    type go; a Reshape of a Reshape reads the first one's input; a real Transpose and Reshape stay."""
    shape = numpy_helper.from_array(np.array([1, 4, 6, 6], np.int64), "same")
    flat = numpy_helper.from_array(np.array([1, 144], np.int64), "flat")
    back = numpy_helper.from_array(np.array([1, 4, 6, 6], np.int64), "back")
    nodes = [
        helper.make_node("Identity", ["x"], ["a"]),
        helper.make_node("Dropout", ["a"], ["b"]),
        helper.make_node("Reshape", ["b", "same"], ["c"]),
        helper.make_node("Transpose", ["c"], ["d"], perm=[0, 1, 2, 3]),
        helper.make_node("Cast", ["d"], ["e"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["e"], ["f"], perm=[0, 1, 3, 2]),
        helper.make_node("Reshape", ["f", "flat"], ["g"]),
        helper.make_node("Reshape", ["g", "back"], ["y"]),
    ]
    session = _check(_save(tmp_path, nodes, [shape, flat, back], [1, 4, 6, 6]), {"shape_simplification": 6})
    kept = [(n.op_type, n.inputs[0]) for n in session.model.graph.nodes]
    assert kept == [("Transpose", "x"), ("Reshape", "f")], kept


def test_shape_simplification_leaves_real_shape_ops_alone(tmp_path):
    """A channel shuffle (Reshape, Transpose, Reshape, none a no-op, no chain) is left as it is."""
    split = numpy_helper.from_array(np.array([1, 2, 2, 6, 6], np.int64), "split")
    join = numpy_helper.from_array(np.array([1, 4, 6, 6], np.int64), "join")
    nodes = [
        helper.make_node("Reshape", ["x", "split"], ["a"]),
        helper.make_node("Transpose", ["a"], ["b"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["b", "join"], ["y"]),
    ]
    session = _check(_save(tmp_path, nodes, [split, join], [1, 4, 6, 6]), {"shape_simplification": 0})
    assert [n.op_type for n in session.model.graph.nodes] == ["Reshape", "Transpose", "Reshape"]


def test_folded_weights_in_memory_of_their_own(tmp_path, monkeypatch):
    """Conv -> BatchNormalization -> Mul folds into one Conv whose weights are written into
    :func:`litert.ir.constant_array` (here every one in an anonymous map, as from 4 MB up), results as before."""
    import mmap

    from litert.ir import constant_array
    from litert.ir import graph as graph_module

    monkeypatch.setattr(graph_module, "_MAPPED_FROM", 0)
    def owner(array):
        while isinstance(array, np.ndarray):
            array = array.base
        return array.obj if isinstance(array, memoryview) else array

    mapped = constant_array((3, 5), np.float32)
    assert mapped.flags.writeable and mapped.flags.c_contiguous and isinstance(owner(mapped), mmap.mmap)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["n"]),
        helper.make_node("Mul", ["n", "s"], ["y"]),
    ]
    inits = [_const("w", RNG.standard_normal((5, 4, 3, 3))), _const("g", RNG.uniform(0.5, 2, 5)),
             _const("beta", RNG.standard_normal(5)), _const("mean", RNG.standard_normal(5)),
             _const("var", RNG.uniform(0.5, 2, 5)), _const("s", RNG.uniform(0.5, 2, (5, 1, 1)))]
    session = _check(_save(tmp_path, nodes, inits, [1, 5, 6, 6]),
                     {"channel_affine_folding": 1, "batchnorm_folding": 1})
    [conv] = session.model.graph.nodes
    assert isinstance(owner(session.model.graph.values[conv.inputs[1]].const), mmap.mmap)
