"""The MindIR writer without MindSpore: structure of the written file and litert reading it back.

That MindSpore itself runs these files with the same outputs is
test_mindir_live.py (marker ``live``).
"""
from __future__ import annotations

import mindir_cases
import mindir_testlib as lib
import onnx
import pytest

import litert  # noqa: E402
from litert.errors import UnsupportedOperatorError  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.mindir.mind_ir_pb2 import ModelProto, PrimitiveProto  # noqa: E402
from litert_formats.mindir.writer import MindirSerializer  # noqa: E402


def _proto(path) -> ModelProto:
    proto = ModelProto()
    proto.ParseFromString(path.read_bytes())
    return proto


@pytest.mark.parametrize("name", lib.fixture_names())
def test_fixture_round_trip_keeps_mindspore_outputs(name, tmp_path):
    fx = lib.fixture(name)
    out = tmp_path / f"{name}.mindir"
    MindirSerializer().save(read_model(fx.path), out)
    session = litert.load(out)
    for case in fx.cases:
        for got, want in zip(session.predict(case.inputs), case.outputs):
            lib.assert_matches(got, want)


def test_written_file_has_mindspore_shape(tmp_path):
    out = tmp_path / "lenet5.mindir"
    MindirSerializer().save(read_model(lib.fixture("lenet5").path), out)
    proto = _proto(out)
    assert proto.mind_ir_version == 3 and proto.little_endian
    prefix = proto.graph.name + ":"
    assert [i.name for i in proto.graph.input] == [prefix + "x"]
    assert list(proto.graph.input[0].tensor[0].dims) == [2, 1, 32, 32]
    params = {p.ref_key: p for p in proto.graph.parameter}
    assert list(params["conv1.weight"].dims) == [6, 1, 5, 5] and len(params["conv1.weight"].raw_data) == 600
    prims = {p.name: p for p in proto.primitives}
    kinds = {p.op_type: p.prim_type for p in proto.primitives}
    assert kinds["Conv2D"] == PrimitiveProto.PRIMITIVE and kinds["MatMul"] == PrimitiveProto.PRIMITIVE_FUNCTION
    conv = next(p for p in proto.primitives if p.op_type == "Conv2D")
    assert {a.name for a in conv.attribute} >= {"kernel_size", "pad_mode", "stride", "group", "out_channel"}
    for node in proto.graph.node:
        if node.op_type != "Constant":
            assert node.op_type.startswith("REF::") and node.op_type[5:] in prims
    matmul = next(n for n in proto.graph.node if n.op_type.startswith("REF::MatMul"))
    assert len(matmul.input) == 4  # input, mat2, transpose_a, transpose_b
    constants = {n.output[0] for n in proto.graph.node if n.op_type == "Constant"}
    assert set(matmul.input[2:]) <= constants


@pytest.mark.parametrize("name", sorted(mindir_cases.CASES))
@pytest.mark.parametrize("level", ["general", "none"])
def test_onnx_to_mindir_reads_back(name, level, tmp_path):
    dst, feeds, want = mindir_cases.written(name, level, tmp_path)
    lib.assert_all_match(litert.load(dst).predict(feeds), want)


def test_external_weights_when_over_the_threshold(tmp_path):
    fx = lib.fixture("resnet_bn")
    out = tmp_path / "big.mindir"
    MindirSerializer(external_threshold=1000).save(read_model(fx.path), out)
    proto = _proto(out)
    assert all(p.HasField("external_data") and not p.raw_data for p in proto.graph.parameter)
    data = tmp_path / "big_variables" / "data_0"
    assert data.exists() and data.read_bytes()[0] == 1  # header: little-endian flag
    assert all(p.external_data.offset % 64 == 0 for p in proto.graph.parameter)
    case = fx.cases[0]
    lib.assert_matches(litert.load(out).predict(case.inputs)[0], case.outputs[0])


def test_unmappable_operator_is_named(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("NonZero", ["x"], ["y"], name="the_nonzero")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    src = tmp_path / "nz.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), src)
    with pytest.raises(UnsupportedOperatorError) as err:
        litert.convert(src, tmp_path / "nz.mindir")
    assert "the_nonzero" in str(err.value) and "NonZero" in str(err.value)
    assert err.value.node == "the_nonzero" and err.value.op_type == "NonZero"
