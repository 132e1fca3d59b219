"""MindIR files exported by real MindSpore (committed fixtures): litert reproduces MindSpore's outputs.

No MindSpore is needed: the fixtures carry MindSpore's outputs
(tools/mindspore/export_fixtures.py).  Each is read by suffix through
``litert.load``, run on the CPU backend and compared at rtol 1e-4 /
atol 1e-5, directly and after conversion to ``.ms`` (when the .ms writer is
installed) and to ONNX (checked with onnxruntime).
"""
from __future__ import annotations

from collections import Counter

import mindir_testlib as lib
import numpy as np
import pytest

import litert  # noqa: E402
from litert.plugins import host  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402

NAMES = lib.fixture_names()

#: operators each network must map to (a check that the primitives were read, not just run)
EXPECTED_OPS = {
    "lenet5": {"Conv": 2, "MaxPool": 2, "MatMul": 3, "Relu": 4, "Flatten": 1},
    "lenet5_split": {"Conv": 2, "MatMul": 3},
    "resnet_bn": {"Conv": 6, "BatchNormalization": 6, "ReduceMean": 1, "MaxPool": 1},
    "dwsep_cnn": {"Conv": 6, "Clip": 2, "HardSwish": 2, "HardSigmoid": 1, "AveragePool": 1, "Softmax": 1},
    "transformer_block": {"LayerNormalization": 2, "Gelu": 1, "Softmax": 1, "Transpose": 5, "Reshape": 10},
    "dynamic_batch": {"Conv": 1, "ReduceMean": 1, "MatMul": 1},
    "misc_ops": {"Slice": 1, "Cast": 2, "Concat": 2, "Gather": 1, "Tile": 1, "ReduceSum": 1},
    "pool_variants": {"Conv": 1, "MaxPool": 1, "AveragePool": 1, "LogSoftmax": 1, "ReduceMax": 1},
    "lazy_inline_mlp": {"MatMul": 2, "Relu": 2},
}


def test_fixture_set_is_complete():
    assert set(EXPECTED_OPS) == set(NAMES)
    size = sum(p.stat().st_size for p in lib.DATA.rglob("*") if p.is_file())
    assert size < 3 * 2**20, f"fixtures take {size} bytes"


@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_mindspore(name):
    fx = lib.fixture(name)
    model = read_model(fx.path)
    ops = Counter(n.op_type for n in model.graph.nodes)
    for op, count in EXPECTED_OPS[name].items():
        assert ops[op] == count, (op, dict(ops))
    plumbing = {"Load", "UpdateState", "Depend", "MakeTuple", "TupleGetItem", "Return"}
    assert not plumbing & set(ops)
    session = litert.load(fx.path, threads=1)
    assert [i.name for i in session.inputs] == list(fx.cases[0].inputs)
    for case in fx.cases:
        got = session.predict(case.inputs)
        assert len(got) == len(case.outputs)
        for g, want in zip(got, case.outputs):
            lib.assert_matches(g, want)


def test_parameters_become_named_weights():
    model = read_model(lib.fixture("lenet5").path)
    consts = {n for n, v in model.graph.values.items() if v.is_const}
    assert {"conv1.weight", "conv2.weight", "fc1.bias"} <= consts
    weight = model.graph.values["conv1.weight"].const
    assert weight.shape == (6, 1, 5, 5) and weight.dtype == np.float32 and np.std(weight) > 0


def test_external_weights_are_read_from_the_variables_folder():
    fx = lib.fixture("lenet5_split")
    assert (lib.DATA / "lenet5_split_variables" / "data_0").exists()
    whole = read_model(lib.fixture("lenet5").path)
    split = read_model(fx.path)
    assert split.graph.weight_bytes() == whole.graph.weight_bytes() > 200_000
    assert fx.path.stat().st_size < 20_000  # the graph file holds no weights


def test_dynamic_batch_input_is_symbolic():
    fx = lib.fixture("dynamic_batch")
    session = litert.load(fx.path)
    dim = session.inputs[0].shape[0]
    assert isinstance(dim, str) and session.inputs[0].shape[1:] == (3, 8, 8)
    assert [c.label for c in fx.cases] == ["b1", "b3"]


def test_input_shapes_override():
    fx = lib.fixture("dynamic_batch")
    session = litert.load(fx.path, input_shapes={"x": (3, 3, 8, 8)})
    assert session.inputs[0].shape == (3, 3, 8, 8)
    case = fx.cases[1]
    lib.assert_matches(session.predict(case.inputs)[0], case.outputs[0])


def _to_session_layout(info, array):
    """The .ms writer may ask for NHWC 4-D inputs (as MindSpore Lite does)."""
    if array.ndim == 4 and tuple(info.shape) != array.shape and \
            tuple(d for d in info.shape[1:]) == (array.shape[2], array.shape[3], array.shape[1]):
        return array.transpose(0, 2, 3, 1)
    return array


@pytest.mark.parametrize("name", NAMES)
def test_fixture_after_conversion_to_ms(name, tmp_path):
    if "ms" not in host().serializers:
        pytest.skip("no .ms writer installed")
    fx = lib.fixture(name)
    out = tmp_path / f"{name}.ms"
    litert.convert(fx.path, out)
    session = litert.load(out, threads=1)
    for case in fx.cases:
        feeds = {info.name: _to_session_layout(info, case.inputs[info.name]) for info in session.inputs}
        got = session.predict(feeds)
        for g, want in zip(got, case.outputs):
            g = np.asarray(g)
            if g.shape != want.shape and g.ndim == 4:  # NHWC output back to MindSpore's NCHW
                g = g.transpose(0, 3, 1, 2)
            lib.assert_matches(g, want)


@pytest.mark.parametrize("name", ["lenet5", "resnet_bn", "transformer_block", "dynamic_batch"])
def test_fixture_after_conversion_to_onnx_runs_in_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    fx = lib.fixture(name)
    out = tmp_path / f"{name}.onnx"
    litert.convert(fx.path, out)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for case in fx.cases:
        got = sess.run(None, case.inputs)
        for g, want in zip(got, case.outputs):
            lib.assert_matches(g, want)
