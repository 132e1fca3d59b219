"""Large weights borrowed from the mapped model file during ``litert.load`` (no copy of them first), and
copied or dropped before the load returns: the file may then be rewritten without the session noticing.
The wire walk that finds them is checked against protobuf's own parse, ill-formed bytes included."""
from __future__ import annotations

import mmap

import numpy as np
import onnx
import pytest
from formats_testlib import run_ort
from onnx import TensorProto as T
from onnx import helper, numpy_helper

import litert
from litert_formats.onnx import reader, wire

RNG = np.random.default_rng(5)


def _model() -> onnx.ModelProto:
    """Conv -> BatchNormalization (its weights are rewritten by the folding) -> Conv (kept as read) -> Relu,
    weights in raw_data, one tensor in float_data, one unread initializer."""
    w1 = numpy_helper.from_array(RNG.standard_normal((32, 8, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(RNG.standard_normal((16, 32, 3, 3)).astype(np.float32), "w2")
    bn = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in (
        ("g", RNG.uniform(0.5, 1.5, 32)), ("b", RNG.standard_normal(32)), ("m", RNG.standard_normal(32)),
        ("v", RNG.uniform(0.5, 1.5, 32)))]
    bias = helper.make_tensor("b2", T.FLOAT, [16], RNG.standard_normal(16).astype(np.float32).tolist())
    unread = numpy_helper.from_array(np.arange(4096, dtype=np.float32), "unread")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"]),
             helper.make_node("Conv", ["n1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, [1, 8, 10, 10])],
                              [helper.make_tensor_value_info("y", T.FLOAT, [1, 16, 10, 10])],
                              initializer=[w1, *bn, w2, bias, unread])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (its key and length as one-byte varints where they fit)."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _spans_as_parsed(data: bytes) -> list[tuple[bytes, bytes | None]]:
    model = onnx.ModelProto.FromString(data)
    return [(t.name.encode(), t.raw_data if t.HasField("raw_data") else None) for t in model.graph.initializer]


def _spans_as_walked(data: bytes) -> list[tuple[bytes, bytes | None]] | None:
    spans = wire.initializer_spans(memoryview(data))
    return None if spans is None else [(name, data[a:b] if b else None) for name, a, b in spans]


def test_the_walk_finds_what_protobuf_parses():
    data = _model().SerializeToString()
    assert _spans_as_walked(data) == _spans_as_parsed(data)
    assert _spans_as_walked(data)[6] == (b"b2", None)  # float_data: nothing to borrow


def test_the_walk_follows_protobufs_merging_rules():
    """A graph field twice: its initializers are concatenated; a tensor's raw_data (or name) twice: the last."""
    model = _model()
    extra = onnx.ModelProto()
    extra.graph.initializer.add().CopyFrom(numpy_helper.from_array(np.ones(3, np.float32), "late"))
    # one initializer whose bytes hold two tensors' fields: name and raw_data twice each (protobuf keeps the last)
    tensor = (numpy_helper.from_array(np.zeros(2, np.float32), "first").SerializeToString()
              + numpy_helper.from_array(np.full(2, 7, np.float32), "second").SerializeToString())
    graph = _field(5, tensor)  # GraphProto.initializer
    data = model.SerializeToString() + extra.SerializeToString() + _field(7, graph)  # ModelProto.graph
    walked = _spans_as_walked(data)
    assert walked == _spans_as_parsed(data)
    assert walked[-2][0] == b"late" and walked[-1] == (b"second", np.full(2, 7, np.float32).tobytes())


@pytest.mark.parametrize("data", [b"\x3a\xff\xff\xff\xff\x0f", b"\x3a\x05\x2a\x10\x0a", b"\x3b\x00",
                                  b"\x3a\x02\xff\xff", b"\xff" * 12])
def test_the_walk_gives_up_on_bytes_it_cannot_follow(data):
    """Truncated or overlong fields, groups, a varint that never ends: None (the reader then copies), never
    an exception or a span outside the bytes."""
    assert wire.initializer_spans(memoryview(data)) is None


@pytest.fixture
def borrow_everything(monkeypatch):
    """The size thresholds down to nothing, so that a small test model borrows its weights."""
    monkeypatch.setattr(reader, "_BORROW_FROM", 0)
    monkeypatch.setattr(reader, "_BORROWED_FROM", 1)


@pytest.mark.parametrize("mapped_from", [None, 0], ids=["numpy-copies", "mapped-copies"])
def test_load_borrows_weights_and_keeps_none_of_them(tmp_path, borrow_everything, monkeypatch, mapped_from):
    """After the load no constant is a view of the file's map, and the map is closed: rewriting the file and
    cutting it short changes nothing.  The copies of large kept weights are memory of their own (``mapped``:
    every copy so, as from 4 MB up)."""
    from litert.ir import graph as graph_module

    if mapped_from is not None:
        monkeypatch.setattr(graph_module, "_MAPPED_FROM", mapped_from)
    maps = []
    real = reader.attributes.borrowed_array
    monkeypatch.setattr(reader.attributes, "borrowed_array",
                        lambda t, buffer, a, b: maps.append(buffer) or real(t, buffer, a, b))
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    x = RNG.standard_normal((1, 8, 10, 10)).astype(np.float32)
    [want] = run_ort(path, {"x": x})
    session = litert.load(path)
    assert maps and session.model.mapped_file is None and maps[0].closed
    for value in session.model.graph.values.values():
        if value.const is not None:
            assert not graph_module._views(value.const, maps[0]), value.name
            assert value.const.flags.c_contiguous and value.const.flags.writeable or value.name not in ("w2",)
    [got] = session.predict({"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    path.write_bytes(b"\0" * path.stat().st_size)  # rewritten in place, and then cut short
    path.write_bytes(b"")
    [again] = session.predict({"x": x})
    np.testing.assert_array_equal(again, got)


def test_load_borrows_from_the_map(tmp_path, borrow_everything, monkeypatch):
    """The weights are read from the map (not protobuf's copy): a view of it is what the folding reads."""
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    seen = []
    real = reader.attributes.borrowed_array

    def spy(t, buffer, start, stop):
        array = real(t, buffer, start, stop)
        seen.append((t.name, isinstance(buffer, mmap.mmap), array is not None))
        return array

    monkeypatch.setattr(reader.attributes, "borrowed_array", spy)
    litert.load(path)
    assert ("w1", True, True) in seen and ("w2", True, True) in seen
    assert all(name != "b2" for name, _, _ in seen)  # float_data: copied as protobuf gives it
    assert all(name != "unread" for name, _, _ in seen)


def test_other_reads_copy_as_before(tmp_path, borrow_everything):
    """Without ``borrow_file`` (convert, info, a model read to be kept) nothing is borrowed."""
    from litert.runtime import read_model

    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    model = read_model(path)
    assert model.mapped_file is None
    assert all(v.const is None or not isinstance(v.const.base, memoryview) for v in model.graph.values.values())
