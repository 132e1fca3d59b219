"""The ONNX schema's module built on the upb extension directly is the one protobuf's builder makes."""
from __future__ import annotations

import pytest
from google.protobuf.internal import api_implementation

from litert_formats import proto_modules
from litert_formats.onnx import onnx_ml_pb2

pytestmark = pytest.mark.skipif(api_implementation.Type() != "upb", reason="the direct build is upb's only")


def _built(monkeypatch, direct: bool) -> dict:
    namespace: dict = {"__name__": "litert_formats.onnx.onnx_ml_pb2"}
    with monkeypatch.context() as patch:
        patch.setattr(proto_modules, "_upb_runtime", lambda: direct)
        proto_modules.build_module(namespace, onnx_ml_pb2.DESCRIPTOR.serialized_pb, private=True)
    return namespace


def _shape(value):
    """What a module member is, comparably across two pools: a class by its descriptor's full name and its
    nested classes, a descriptor by its full name, an enum wrapper by its values, a constant as it is."""
    if isinstance(value, type):
        nested = sorted((k, _shape(v)) for k, v in vars(value).items() if isinstance(v, type))
        return ("class", value.__name__, value.__qualname__, value.__module__, value.DESCRIPTOR.full_name, nested)
    if hasattr(value, "full_name"):
        return (type(value).__name__, value.full_name)
    if hasattr(value, "items") and hasattr(value, "DESCRIPTOR"):
        return ("enum", value.DESCRIPTOR.full_name, sorted(value.items()))
    if hasattr(value, "name") and hasattr(value, "package"):
        return ("file", value.name, value.package)
    return value


def test_direct_build_has_the_builders_names_and_values(monkeypatch):
    direct, builder = _built(monkeypatch, True), _built(monkeypatch, False)
    assert sorted(direct) == sorted(builder)
    assert {k: _shape(v) for k, v in direct.items()} == {k: _shape(v) for k, v in builder.items()}
    assert direct["AttributeProto"].GRAPH == 5 and direct["TensorProto"].DataType.Name(1) == "FLOAT"


def test_direct_build_messages_parse_and_write_as_the_builders(monkeypatch):
    direct, builder = _built(monkeypatch, True), _built(monkeypatch, False)
    model = builder["ModelProto"]()
    model.ir_version = 9
    node = model.graph.node.add(op_type="Conv", name="c", input=["x", "w"], output=["y"])
    node.attribute.add(name="pads", type=builder["AttributeProto"].INTS, ints=[1, 1, 1, 1])
    model.graph.initializer.add(name="w", dims=[1, 1, 3, 3], data_type=1, float_data=[0.5] * 9)
    model.graph.input.add(name="x").type.tensor_type.shape.dim.add(dim_param="n")
    data = model.SerializeToString()
    ours = direct["ModelProto"].FromString(data)
    assert ours.SerializeToString() == data
    assert list(ours.graph.node[0].attribute[0].ints) == [1, 1, 1, 1]
    assert ours.graph.input[0].type.tensor_type.shape.dim[0].WhichOneof("value") == "dim_param"
    assert isinstance(ours.graph.input[0].type, direct["TypeProto"])
    assert isinstance(ours.graph.input[0].type.tensor_type, direct["TypeProto"].Tensor)


def test_onnx_schema_refuses_strings_that_are_not_utf8_while_parsing():
    """The reader skips its Python walk over every string of a model because this parser checks them."""
    from google.protobuf.message import DecodeError

    model = onnx_ml_pb2.ModelProto()
    model.graph.node.add(op_type="Relu", name="abcd")
    data = model.SerializeToString()
    assert onnx_ml_pb2.ModelProto.FromString(data).graph.node[0].name == "abcd"
    with pytest.raises(DecodeError):
        onnx_ml_pb2.ModelProto.FromString(data.replace(b"abcd", b"ab\xed\xa0"))
