"""``litert.load`` parses the model file without its large weights (:func:`wire.without_weights`), reads them
from the mapped file instead (views of it from 64 KB up, copies below), and copies or drops those views before
the load returns: the file may then be rewritten without the session noticing.  The walk that cuts the
weights out is checked against protobuf's own parse, its merging rules and ill-formed bytes included."""
from __future__ import annotations

import mmap

import numpy as np
import onnx
import pytest
from formats_testlib import run_ort
from onnx import TensorProto as T
from onnx import helper, numpy_helper

import litert
from litert_formats.onnx import guard, reader, wire

RNG = np.random.default_rng(5)


def _model() -> onnx.ModelProto:
    """Conv -> BatchNormalization (its weights are rewritten by the folding) -> Conv (kept as read) -> Relu,
    both convolutions' weights large (over 4096 elements) in raw_data, one tensor in float_data, one unread
    initializer."""
    w1 = numpy_helper.from_array(RNG.standard_normal((64, 8, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(RNG.standard_normal((16, 64, 3, 3)).astype(np.float32), "w2")
    bn = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in (
        ("g", RNG.uniform(0.5, 1.5, 64)), ("b", RNG.standard_normal(64)), ("m", RNG.standard_normal(64)),
        ("v", RNG.uniform(0.5, 1.5, 64)))]
    bias = helper.make_tensor("b2", T.FLOAT, [16], RNG.standard_normal(16).astype(np.float32).tolist())
    unread = numpy_helper.from_array(np.arange(8192, dtype=np.float32), "unread")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"]),
             helper.make_node("Conv", ["n1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, [1, 8, 10, 10])],
                              [helper.make_tensor_value_info("y", T.FLOAT, [1, 16, 10, 10])],
                              initializer=[w1, *bn, w2, bias, unread])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _check_walk(data: bytes, leave_out=guard.large_dims) -> list:
    """Parsing what the walk gives equals parsing ``data`` with the left-out ``raw_data`` cleared, and each
    left-out span holds the bytes protobuf parses; returns the spans."""
    found = wire.without_weights(memoryview(data), leave_out)
    assert found is not None
    cut, held = found
    whole = onnx.ModelProto.FromString(data)
    parsed = onnx.ModelProto.FromString(bytes(cut))
    assert len(held) == len(whole.graph.initializer)
    for tensor, span in zip(whole.graph.initializer, held):
        if span is not None:
            assert data[span[0]:span[1]] == tensor.raw_data
            tensor.ClearField("raw_data")
    assert parsed == whole
    return held


def test_the_walk_leaves_out_the_large_raw_data_and_nothing_else():
    data = _model().SerializeToString()
    held = _check_walk(data)
    names = [t.name for t in _model().graph.initializer]
    assert [n for n, s in zip(names, held) if s is not None] == ["w1", "w2", "unread"]  # b2: float_data
    assert len(wire.without_weights(memoryview(data), guard.large_dims)[0]) < 2000 < len(data) // 40  # the rest
    everything = _check_walk(data, lambda dims: True)
    assert [n for n, s in zip(names, everything) if s is None] == ["b2"]


def test_tensors_under_the_smallest_size_are_kept_without_a_look():
    data = _model().SerializeToString()
    seen = []
    held = _check_walk(data, lambda dims: seen.append(list(dims)) or True)
    assert len(seen) == 7  # all but b2 (no raw_data)
    seen.clear()
    smallest = 9216 * 4  # w2's raw_data is that long, unread's less
    found = wire.without_weights(memoryview(data), lambda dims: seen.append(list(dims)) or True, smallest)
    assert seen == [[16, 64, 3, 3]] and found is not None
    assert [span is not None for span in found[1]] == [False] * 5 + [True, False, False]
    assert found[1][5] == held[5]


def test_nothing_left_out_is_the_bytes_themselves():
    data = _model().SerializeToString()
    view = memoryview(data)
    cut, held = wire.without_weights(view, lambda dims: False)
    assert cut is view and held == [None] * 8


def test_the_walk_follows_protobufs_merging_rules():
    """A graph field twice: its initializers are concatenated; a tensor's raw_data twice: the last counts
    (both are cut); dims both packed and not: all of them; a negative dim read as int64."""
    model = _model()
    extra = onnx.ModelProto()
    extra.graph.initializer.add().CopyFrom(numpy_helper.from_array(np.ones(5000, np.float32), "late"))
    tensor = (numpy_helper.from_array(np.zeros(4100, np.float32), "first").SerializeToString()
              + numpy_helper.from_array(np.full(4100, 7, np.float32), "second").SerializeToString())
    packed = _field(1, _varint(2) + _varint(3000)) + _varint(1 << 3) + _varint(1)  # dims [2, 3000] then [1]
    negative = _varint(1 << 3) + _varint((1 << 64) - 5000) + _varint(1 << 3) + _varint((1 << 64) - 2)
    data = (model.SerializeToString() + extra.SerializeToString()
            + _field(7, _field(5, tensor) + _field(5, packed + _field(9, b"\1" * 24000))
                     + _field(5, negative + _field(9, b"\2" * 8))))
    seen = []
    held = _check_walk(data, lambda dims: seen.append(list(dims)) or guard.large_dims(dims))
    assert [2, 3000, 1] in seen and [-5000, -2] in seen
    parsed = onnx.ModelProto.FromString(data)
    assert [t.name for t in parsed.graph.initializer][-4:] == ["late", "second", "", ""]
    assert all(span is not None for span in held[-4:])
    assert data[slice(*held[-3])] == np.full(4100, 7, np.float32).tobytes()


@pytest.mark.parametrize("seed", range(20))
def test_the_walk_matches_protobuf_on_random_models(seed):
    """Initializers of random dims, element types and storage (raw_data, typed fields, none), spread over one to
    three graph fields among other fields, left out by a random rule."""
    rng = np.random.default_rng(seed)
    parts = []
    for g in range(int(rng.integers(1, 4))):
        graph = onnx.GraphProto(name=f"g{g}")
        for i in range(int(rng.integers(0, 6))):
            dims = [int(d) for d in rng.integers(0, 70, size=int(rng.integers(0, 4)))]
            array = rng.standard_normal(dims).astype((np.float32, np.float64, np.int8)[int(rng.integers(3))])
            tensor = numpy_helper.from_array(array, f"t{g}_{i}")
            if rng.random() < 0.3 and array.dtype == np.float32:
                tensor.ClearField("raw_data")
                tensor.float_data.extend(array.ravel().tolist())
            graph.initializer.append(tensor)
            graph.node.append(helper.make_node("Identity", [tensor.name], [f"o{g}_{i}"]))
        parts.append(_field(7, graph.SerializeToString()))
        parts.append(_field(8, helper.make_opsetid("", 17).SerializeToString()))  # ModelProto.opset_import
    limit = int(rng.integers(0, 3000))
    _check_walk(b"".join(parts), lambda dims: int(np.prod(dims)) > limit)


def test_mutated_bytes_parse_as_the_walk_says():
    """Bytes flipped, overwritten or cut anywhere in a model: where protobuf parses them, what the walk gives
    parses to the same message (less the left-out raw_data, which its spans hold); where protobuf refuses them,
    it refuses what the walk gives too, or the walk gives up."""
    from google.protobuf.message import DecodeError

    data = _model().SerializeToString()
    rng = np.random.default_rng(11)
    outcomes = set()
    for _ in range(400):
        mutant = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(len(mutant)))
            kind = rng.integers(3)
            if kind == 0:
                mutant[at] ^= 1 << int(rng.integers(8))
            elif kind == 1:
                mutant[at] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x2A, 0x3A, 0x4A]))
            else:
                del mutant[at:at + int(rng.integers(1, 64))]
        mutant = bytes(mutant)
        found = wire.without_weights(memoryview(mutant), lambda dims: True)
        try:
            whole = onnx.ModelProto.FromString(mutant)
        except DecodeError:
            whole = None
        if found is None:
            outcomes.add("gave up")
            continue
        cut, held = found
        if whole is None:
            with pytest.raises(DecodeError):
                onnx.ModelProto.FromString(bytes(cut))
            outcomes.add("both refused")
            continue
        parsed = onnx.ModelProto.FromString(bytes(cut))
        assert len(held) == len(whole.graph.initializer)
        for tensor, span in zip(whole.graph.initializer, held):
            if span is not None:
                assert 0 <= span[0] <= span[1] <= len(mutant) and mutant[span[0]:span[1]] == tensor.raw_data
                tensor.ClearField("raw_data")
        assert parsed == whole
        outcomes.add("same message")
    assert outcomes == {"gave up", "both refused", "same message"}


def test_a_message_shorter_than_its_last_field_is_refused():
    """A graph whose length ends inside its last initializer: protobuf refuses the file, and the walk gives up
    rather than write a consistent graph around that initializer."""
    from google.protobuf.message import DecodeError

    initializer = _field(5, numpy_helper.from_array(np.ones(5000, np.float32), "t").SerializeToString())
    data = _varint(7 << 3 | 2) + _varint(len(initializer) - 8) + initializer
    with pytest.raises(DecodeError):
        onnx.ModelProto.FromString(data)
    assert wire.without_weights(memoryview(data), lambda dims: True) is None


@pytest.mark.parametrize("data", [b"\x3a\xff\xff\xff\xff\x0f", b"\x3a\x05\x2a\x10\x0a", b"\x3b\x00",
                                  b"\x3a\x02\xff\xff", b"\xff" * 12, b"\x3a\x08\x2a\x06\x0a\x01\x80\x4a\x01\x00"])
def test_the_walk_gives_up_on_bytes_it_cannot_follow(data):
    """Truncated or overlong fields, groups, a varint that never ends, packed dims past their field: None
    (the reader then parses the file as it is), never an exception or a span outside the bytes."""
    assert wire.without_weights(memoryview(data), lambda dims: True) is None


@pytest.fixture
def borrow_everything(monkeypatch):
    """Every left-out weight borrowed (a view of the map), not only those of 64 KB up."""
    monkeypatch.setattr(reader, "_BORROWED_FROM", 1)


def _spy(monkeypatch) -> list:
    """(tensor name, the buffer it was read from, borrowed) of each weight read from the map."""
    seen = []
    real = reader.attributes.held_array

    def spy(t, buffer, start, stop, borrow):
        seen.append((t.name, buffer, borrow))
        return real(t, buffer, start, stop, borrow)

    monkeypatch.setattr(reader.attributes, "held_array", spy)
    return seen


@pytest.mark.parametrize("mapped_from", [None, 0], ids=["numpy-copies", "mapped-copies"])
def test_load_borrows_weights_and_keeps_none_of_them(tmp_path, borrow_everything, monkeypatch, mapped_from):
    """After the load no constant is a view of the file's map, and the map is closed: rewriting the file and
    cutting it short changes nothing.  The copies of large kept weights are memory of their own (``mapped``:
    every copy so, as from 4 MB up)."""
    from litert.ir import graph as graph_module

    if mapped_from is not None:
        monkeypatch.setattr(graph_module, "_MAPPED_FROM", mapped_from)
    seen = _spy(monkeypatch)
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    x = RNG.standard_normal((1, 8, 10, 10)).astype(np.float32)
    [want] = run_ort(path, {"x": x})
    session = litert.load(path)
    maps = {id(buffer): buffer for _, buffer, _ in seen}
    assert len(maps) == 1 and session.model.mapped_file is None
    [file] = maps.values()
    assert isinstance(file, mmap.mmap) and file.closed
    for value in session.model.graph.values.values():
        if value.const is not None:
            assert not graph_module._views(value.const, file), value.name
            assert value.const.flags.c_contiguous and value.const.flags.writeable or value.name not in ("w2",)
    [got] = session.predict({"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    path.write_bytes(b"\0" * path.stat().st_size)  # rewritten in place, and then cut short
    path.write_bytes(b"")
    [again] = session.predict({"x": x})
    np.testing.assert_array_equal(again, got)


def test_load_reads_large_weights_from_the_map(tmp_path, monkeypatch):
    """The large weights come from the map, copied under 64 KB (these are), the small ones and those in typed
    fields from the message; an initializer nothing reads is not read at all."""
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    seen = _spy(monkeypatch)
    session = litert.load(path)
    assert [(name, isinstance(buffer, mmap.mmap), borrow) for name, buffer, borrow in seen] == [
        ("w1", True, False), ("w2", True, False)]
    assert session.model.mapped_file is None and seen[0][1].closed  # nothing borrowed: closed during the read


def test_local_functions_read_the_whole_file(tmp_path, monkeypatch):
    """Inlining serialises the message: a model with local functions is read with its weights in it."""
    model = _model()
    function = helper.make_function("local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                                    [helper.make_opsetid("", 17)])
    model.functions.append(function)
    model.opset_import.append(helper.make_opsetid("local", 1))
    model.graph.node[-1].output[0] = "r"
    model.graph.node.append(helper.make_node("Twice", ["r"], ["y"], domain="local"))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    seen = _spy(monkeypatch)
    x = RNG.standard_normal((1, 8, 10, 10)).astype(np.float32)
    [want] = run_ort(path, {"x": x})
    [got] = litert.load(path).predict({"x": x})
    assert seen == []
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_a_weight_too_short_for_its_dims_is_refused(tmp_path):
    """The size check of a weight left in the file: on the bytes the walk found."""
    model = _model()
    w2 = model.graph.initializer[5]
    w2.raw_data = w2.raw_data[:-4]
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    with pytest.raises(litert.errors.ModelLoadError, match="w2"):
        litert.load(path)


def test_other_reads_copy_as_before(tmp_path, borrow_everything, monkeypatch):
    """Without ``borrow_file`` (convert, info, a model read to be kept) the message holds every weight."""
    from litert.runtime import read_model

    seen = _spy(monkeypatch)
    path = tmp_path / "m.onnx"
    onnx.save(_model(), path)
    model = read_model(path)
    assert model.mapped_file is None and seen == []
    assert all(v.const is None or not isinstance(v.const.base, memoryview) for v in model.graph.values.values())
