"""v1 control flow in frozen GraphDefs: ``tf.cond`` (Switch/Merge) read, ``tf.while_loop`` refused by name.

TensorFlow freezes the functions (``convert_variables_to_constants_v2`` lowers
``If``/``While`` to Switch/Merge and Enter/Exit/NextIteration) and runs the
frozen graphs as the oracle, with predicates that take every branch.
"""
from __future__ import annotations

import numpy as np
import pytest
from tflite_testlib import tf_models

import litert
from litert.errors import UnsupportedOperatorError


def _freeze(fn, folder, name):
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((2, 8), tf.float32)
    concrete = tf.function(tf.autograph.experimental.do_not_convert(fn), input_signature=[spec, spec])
    frozen = convert_variables_to_constants_v2(concrete.get_concrete_function())
    path = folder / f"{name}.pb"
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    return path


def _nested_conds(x, y):
    import tensorflow as tf

    total = tf.reduce_sum(y)
    inner = lambda: tf.cond(total > 1.0, lambda: x * 3.0, lambda: tf.sigmoid(x))  # noqa: E731
    out = tf.cond(total > 0.0, inner, lambda: tf.tanh(x) - 1.0)
    constant = tf.cond(total < 0.5, lambda: tf.constant(np.ones((2, 8), np.float32)), lambda: y * x)
    return out + 1.0, constant


def test_nested_cond_takes_every_branch_as_tensorflow(tmp_path):
    path = _freeze(_nested_conds, tmp_path, "conds")
    session = litert.load(path)
    assert sorted(o.name for o in session.outputs) == ["Identity", "Identity_1"]
    x = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    for total in (-3.0, 0.1, 0.7, 3.0):  # else; then/else of the inner cond; both sides of the second cond
        y = np.full((2, 8), total / 16, np.float32)
        want = tf_models.tensorflow_run(path, [x, y])
        got = session.run({"x": x, "y": y})
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-6)


def test_while_loop_is_refused_by_name(tmp_path):
    def loop(x, y):
        import tensorflow as tf

        return tf.while_loop(lambda i, acc: i < 3, lambda i, acc: (i + 1, acc * 0.5 + y), (tf.constant(0), x))[1]

    with pytest.raises(UnsupportedOperatorError, match="Enter|Merge|LoopCond|NextIteration"):
        litert.load(_freeze(loop, tmp_path, "loop"))
