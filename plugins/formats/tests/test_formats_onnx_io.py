"""ONNX reader/writer: errors, external data, subgraphs, functions, constants, types, plugin hooks."""
from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import onnx
import pytest
from formats_testlib import check_roundtrip, load, make_model, rand, roundtrip, run_ort
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from litert.errors import InputError, ModelLoadError, UnsupportedOperatorError
from litert.formats import LoadOptions
from litert.ir import DType, Graph, Model, Node, Value
from litert_formats.onnx import OnnxFrontend, OnnxSerializer
from litert_formats.onnx import writer as writer_mod

F = T.FLOAT


def small_model(opset=13):
    w = numpy_helper.from_array(rand(4, 3, seed=1), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    return make_model(nodes, [("x", F, ["N", 4])], [("y", F, ["N", 3])], opset, initializers=[w])


# ---------------------------------------------------------------- broken files


def test_truncated_file(tmp_path):
    data = small_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError) as info:
        OnnxFrontend().load(path, LoadOptions())
    assert "cut.onnx" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path, seed):
    path = tmp_path / "noise.onnx"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelLoadError, match="noise.onnx"):
        OnnxFrontend().load(path, LoadOptions())


def test_empty_and_missing_file(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty.onnx"):
        OnnxFrontend().load(empty, LoadOptions())
    with pytest.raises(ModelLoadError, match="absent.onnx"):
        OnnxFrontend().load(tmp_path / "absent.onnx", LoadOptions())


def test_binary_and_text_encodings_read_the_same_weights(tmp_path):
    """A binary file is parsed from a memory map of it (any suffix onnx does not read as text), a text one through
    onnx's serialiser for its suffix: the same weights either way, kept after the map is closed."""
    model = small_model()
    expected = numpy_helper.to_array(model.graph.initializer[0])
    paths = [tmp_path / "m.onnx", tmp_path / "m.bin", tmp_path / "m.txtpb"]
    for path in paths:
        onnx.save_model(model, str(path), format="textproto" if path.suffix == ".txtpb" else None)
    assert not paths[2].read_bytes().startswith(paths[0].read_bytes()[:8])  # really text
    for path in paths:
        loaded = OnnxFrontend().load(path, LoadOptions())
        np.testing.assert_array_equal(loaded.graph.values["w"].const, expected)


def test_trailing_bytes_after_the_model_are_refused(tmp_path):
    """What onnx's own loader checks: the parse must consume the whole file."""
    path = tmp_path / "tail.onnx"
    path.write_bytes(small_model().SerializeToString() + b"\x00")
    with pytest.raises(ModelLoadError, match="tail.onnx"):
        OnnxFrontend().load(path, LoadOptions())


def test_not_a_model_proto(tmp_path):
    path = tmp_path / "tensor.onnx"
    path.write_bytes(numpy_helper.from_array(rand(10, 10)).SerializeToString())
    with pytest.raises(ModelLoadError, match="tensor.onnx"):
        OnnxFrontend().load(path, LoadOptions())


def _external_model(tmp_path):
    model = small_model()
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(rand(4, 3, seed=5), "w"))
    path = tmp_path / "ext.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.weights", size_threshold=0)
    return model, path


def test_external_data_loads(tmp_path):
    model, path = _external_model(tmp_path)
    assert (tmp_path / "ext.weights").exists()
    ir = OnnxFrontend().load(path, LoadOptions())
    np.testing.assert_array_equal(ir.graph.values["w"].const, rand(4, 3, seed=5))
    x = rand(2, 4)
    out = tmp_path / "back.onnx"
    OnnxSerializer().save(ir, out)
    np.testing.assert_allclose(run_ort(out, {"x": x})[0], run_ort(path, {"x": x})[0])


def test_missing_external_data(tmp_path):
    _, path = _external_model(tmp_path)
    os.remove(tmp_path / "ext.weights")
    with pytest.raises(ModelLoadError, match="ext.onnx"):
        OnnxFrontend().load(path, LoadOptions())


def test_truncated_external_data(tmp_path):
    _, path = _external_model(tmp_path)
    weights = tmp_path / "ext.weights"
    weights.write_bytes(weights.read_bytes()[:10])
    with pytest.raises(ModelLoadError, match="ext.onnx"):
        OnnxFrontend().load(path, LoadOptions())


def test_cut_after_graph(tmp_path):
    """A file cut at a field boundary (opset_import lost) parses but is not taken for a model."""
    model = small_model()
    del model.opset_import[:]
    path = tmp_path / "cut.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelLoadError, match="opset_import"):
        OnnxFrontend().load(path, LoadOptions())


# ---------------------------------------------------------------- operators


def test_unknown_operator(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("FrobnicateX", ["h"], ["y"], name="frob")]
    model = make_model(nodes, [("x", F, [2])], [("y", F, [2])], 13)
    with pytest.raises(UnsupportedOperatorError) as info:
        load(model, tmp_path)
    err = info.value
    assert err.node == "frob" and err.op_type == "FrobnicateX"
    assert "frob" in str(err) and "FrobnicateX" in str(err) and "13" in str(err)


def test_unknown_custom_domain_operator_without_name(tmp_path):
    nodes = [helper.make_node("Gizmo", ["x"], ["y"], domain="acme.ops")]
    model = make_model(nodes, [("x", F, [2])], [("y", F, [2])], 13, extra_opsets=[("acme.ops", 3)])
    with pytest.raises(UnsupportedOperatorError) as info:
        load(model, tmp_path)
    assert info.value.node == "Gizmo_0" and info.value.domain == "acme.ops"
    assert "acme.ops" in str(info.value) and "Gizmo_0" in str(info.value)


def test_operator_newer_than_model_opset(tmp_path):
    model = make_model([helper.make_node("Gelu", ["x"], ["y"], name="g")], [("x", F, [2])], [("y", F, [2])], 13)
    with pytest.raises(UnsupportedOperatorError, match="'g'"):
        load(model, tmp_path)


def test_unknown_operator_inside_subgraph(tmp_path):
    then_g = helper.make_graph([helper.make_node("Nope", ["x"], ["t"], name="inner")], "then", [],
                               [helper.make_tensor_value_info("t", F, [2])])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", F, [2])])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    model = make_model([node], [("c", T.BOOL, []), ("x", F, [2])], [("y", F, [2])], 13)
    with pytest.raises(UnsupportedOperatorError) as info:
        load(model, tmp_path)
    assert info.value.node == "inner"


def test_node_names_are_unique(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"], name="Relu_1"),
             helper.make_node("Neg", ["b"], ["c"], name="dup"), helper.make_node("Neg", ["c"], ["y"], name="dup")]
    ir = load(make_model(nodes, [("x", F, [2])], [("y", F, [2])], 13), tmp_path)
    names = [n.name for n in ir.graph.nodes]
    assert len(set(names)) == 4 and all(names)
    assert names[0] == "Relu_0" and names[1] == "Relu_1"


# ---------------------------------------------------------------- constants and types


def test_constant_node_forms(tmp_path):
    forms = {
        "c_tensor": {"value": numpy_helper.from_array(rand(2, 2))},
        "c_float": {"value_float": 1.5},
        "c_floats": {"value_floats": [1.0, 2.0]},
        "c_int": {"value_int": 7},
        "c_ints": {"value_ints": [1, 2, 3]},
        "c_string": {"value_string": "hé"},
        "c_strings": {"value_strings": ["a", "b"]},
        "c_sparse": {"sparse_value": helper.make_sparse_tensor(
            numpy_helper.from_array(np.array([5.0, 6.0], np.float32)),
            numpy_helper.from_array(np.array([1, 3], np.int64)), [2, 2])},
    }
    nodes = [helper.make_node("Constant", [], [name], **attrs) for name, attrs in forms.items()]
    nodes.append(helper.make_node("Identity", ["x"], ["y"]))
    outputs = [("y", F, [1])] + [helper.make_empty_tensor_value_info(n) for n in forms]
    model = make_model(nodes, [("x", F, [1])], outputs, 13)
    ir = load(model, tmp_path)
    v = ir.graph.values
    assert not any(n.op_type == "Constant" for n in ir.graph.nodes)
    assert v["c_float"].const.dtype == np.float32 and v["c_float"].const.shape == ()
    assert v["c_int"].const.dtype == np.int64 and int(v["c_int"].const) == 7
    assert v["c_ints"].const.tolist() == [1, 2, 3]
    assert v["c_string"].const.dtype == object and v["c_string"].const.item() == "hé"
    assert v["c_strings"].const.tolist() == ["a", "b"]
    np.testing.assert_array_equal(v["c_sparse"].const, [[0, 5], [0, 6]])
    assert v["c_tensor"].dtype is DType.FLOAT32 and v["c_tensor"].shape == (2, 2)


def test_sparse_initializer(tmp_path):
    sp = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.0, 2.0], np.float32), "w"),
                                   numpy_helper.from_array(np.array([[0, 1], [2, 0]], np.int64)), [3, 2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", F, [3, 2])],
                              [helper.make_tensor_value_info("y", F, [3, 2])], sparse_initializer=[sp])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    ir = load(model, tmp_path)
    np.testing.assert_array_equal(ir.graph.values["w"].const, [[0, 1], [0, 0], [2, 0]])
    x = rand(3, 2)
    _, out = roundtrip(model, tmp_path)
    np.testing.assert_allclose(run_ort(out, {"x": x})[0], x + ir.graph.values["w"].const)


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16, ml_dtypes.float8_e4m3fn, ml_dtypes.int4, np.uint8])
def test_extension_dtype_initializers_survive(tmp_path, dtype):
    arr = np.array([[1, -2, 3], [4, 5, -6]], dtype=np.float32).astype(dtype) if dtype is not np.uint8 else \
        np.arange(6, dtype=np.uint8).reshape(2, 3)
    init = numpy_helper.from_array(arr, "w")
    model = make_model([helper.make_node("Identity", ["w"], ["y"])], [], [("y", init.data_type, [2, 3])], 21,
                       initializers=[init])
    ir, out = roundtrip(model, tmp_path)
    got = ir.graph.values["w"].const
    assert got.dtype == np.dtype(dtype) and ir.graph.values["w"].dtype is DType(init.data_type)
    np.testing.assert_array_equal(got.astype(np.float32), arr.astype(np.float32))
    back = onnx.load(str(out)).graph.initializer[0]
    assert back.data_type == init.data_type
    np.testing.assert_array_equal(numpy_helper.to_array(back).astype(np.float32), arr.astype(np.float32))


#: the element types litert decodes from the typed fields itself (the rest go through onnx's ``to_array``)
_TYPED_CODES = [T.FLOAT, T.DOUBLE, T.INT32, T.INT64, T.UINT32, T.UINT64, T.INT8, T.UINT8, T.FLOAT16, T.BFLOAT16,
                T.INT16, T.UINT16, T.BOOL, T.STRING, T.COMPLEX64, T.FLOAT8E4M3FN, T.INT4]


def _sample(code: int, count: int) -> np.ndarray:
    dtype = helper.tensor_dtype_to_np_dtype(code)
    rng = np.random.default_rng(code * 100 + count)
    if code == T.STRING:
        return np.array([f"s{i}é" for i in range(count)], dtype=object)
    if code == T.BOOL:
        return rng.integers(0, 2, count) == 1
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, count, dtype=dtype, endpoint=True)
    if code == T.COMPLEX64:
        return (rng.standard_normal(count) + 1j * rng.standard_normal(count)).astype(dtype)
    return rng.standard_normal(count).astype(np.float32).astype(dtype)


@pytest.mark.parametrize("code", _TYPED_CODES, ids=[T.DataType.Name(c) for c in _TYPED_CODES])
def test_typed_field_tensors_read_as_numpy_helper_does(code):
    """0-D, short and long tensors in the typed fields (and in raw_data), of litert's schema and of onnx's, read
    as ``numpy_helper.to_array`` reads them: values, bits, dtype, shape, writability (strings as ``str``)."""
    from litert_formats.onnx.attributes import tensor_to_array
    from litert_formats.onnx.onnx_ml_pb2 import TensorProto as OwnTensor

    for dims in [(), (1,), (3,), (16,), (17,), (40,), (2, 3), (0,)]:
        arr = _sample(code, int(np.prod(dims))).reshape(dims)
        tensors = [numpy_helper.from_array(arr, "t")]
        if code not in (T.STRING, T.INT4):
            tensors.append(helper.make_tensor("t", code, dims, arr.reshape(-1)))  # the typed field
        for theirs in tensors:
            want = numpy_helper.to_array(theirs)
            if code == T.STRING:
                want = np.array([v.decode() if isinstance(v, bytes) else v for v in want.reshape(-1)],
                                dtype=object).reshape(want.shape)  # bytes in some onnx versions
            for tensor in (theirs, OwnTensor.FromString(theirs.SerializeToString())):
                got = tensor_to_array(tensor)
                assert got.dtype == want.dtype and got.shape == want.shape, (dims, got.dtype, got.shape)
                assert got.flags.writeable == want.flags.writeable, dims
                if code == T.STRING:
                    assert got.tolist() == want.tolist()
                else:
                    assert got.tobytes() == want.tobytes(), dims


def test_float_data_keeps_nan_bits():
    """A signalling NaN (and a NaN's payload) in float_data reads bit for bit, as numpy_helper reads it."""
    from litert_formats.onnx.attributes import tensor_to_array
    from litert_formats.onnx.onnx_ml_pb2 import TensorProto as OwnTensor

    bits = np.array([0x7F800001, 0x7FC00123, 0x3F800000], np.uint32)
    payload = bits.tobytes()
    data = T(dims=[3], data_type=F).SerializeToString() + bytes([0x22, len(payload)]) + payload  # packed float_data
    for tensor in (T.FromString(data), OwnTensor.FromString(data)):
        assert tensor_to_array(tensor).view(np.uint32).tolist() == bits.tolist()


def test_data_size_counts_the_field_that_is_read(tmp_path):
    """The data size check counts the entries of the field the element type is read from, not another's."""
    wrong = T(name="w", data_type=F, dims=[1000], int32_data=list(range(1000)))  # a float's values in int32_data
    model = make_model([helper.make_node("Add", ["x", "w"], ["y"])], [("x", F, [1000])], [("y", F, [1000])], 13,
                       initializers=[wrong])
    with pytest.raises(ModelLoadError, match="holds data for at most 0"):
        load(model, tmp_path)


def test_two_bit_tensors_pack_four_values_per_entry():
    """INT2/UINT2 pack four values per byte of raw_data or per int32 (onnx's own writers): nine values in three
    entries are whole, thirteen declared values are more than three entries hold."""
    from litert_formats.onnx.attributes import tensor_to_array

    values = [1, -1, 0, 1, -2, 1, 0, -1, 1]
    for tensor in (helper.make_tensor("a", T.INT2, [9], values),
                   numpy_helper.from_array(np.array(values, dtype=ml_dtypes.int2), "r"),
                   helper.make_tensor("u", T.UINT2, [3, 3], [v % 4 for v in values])):
        assert np.array_equal(tensor_to_array(tensor).astype(np.int8), numpy_helper.to_array(tensor).astype(np.int8))
    packed = helper.make_tensor("a", T.INT2, [9], values)
    packed.dims[:] = [13]
    with pytest.raises(ValueError, match="holds data for at most 12"):
        tensor_to_array(packed)


def test_shapes_dtypes_and_symbolic_dims(tmp_path):
    ir = load(small_model(), tmp_path)
    g = ir.graph
    assert g.inputs == ["x"] and g.outputs == ["y"]
    assert g.values["x"].shape == ("N", 4) and g.values["x"].dtype is DType.FLOAT32
    assert g.values["h"].shape == ("N", 3)  # inferred intermediate
    assert g.values["w"].is_const and g.values["w"].shape == (4, 3)


def test_weights_in_constant_nodes_and_large_initializers_keep_inference(tmp_path):
    """Shape inference runs on a copy without large weights; intermediate shapes are still found."""
    w1, w2 = rand(100, 64), rand(64, 80, seed=3)
    nodes = [helper.make_node("Constant", [], ["w1"], value=numpy_helper.from_array(w1)),
             helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("MatMul", ["h", "w2"], ["y"])]
    model = make_model(nodes, [("x", F, ["N", 100])], [("y", F, None)], 13,
                       initializers=[numpy_helper.from_array(w2, "w2")])
    ir, _ = check_roundtrip(model, {"x": rand(3, 100)}, tmp_path, rtol=1e-4)
    assert ir.graph.values["h"].shape == ("N", 64) and ir.graph.values["y"].shape == ("N", 80)
    assert ir.graph.values["w1"].is_const and ir.graph.values["w2"].is_const


def test_input_shapes_override(tmp_path):
    ir = load(small_model(), tmp_path, input_shapes={"x": (5, 4)})
    assert ir.graph.values["x"].shape == (5, 4)
    assert ir.graph.values["h"].shape == (5, 3)  # propagated by inference
    with pytest.raises(InputError, match="nope"):
        load(small_model(), tmp_path, input_shapes={"nope": (1,)})


def test_initializer_listed_as_input_old_ir(tmp_path):
    model = small_model(opset=9)
    model.ir_version = 3
    model.graph.input.append(helper.make_tensor_value_info("w", F, [4, 3]))
    ir = load(model, tmp_path)
    assert ir.graph.inputs == ["x"] and ir.graph.values["w"].is_const
    ir2 = load(model, tmp_path, input_shapes={"w": (4, 3)})
    assert ir2.graph.inputs == ["x", "w"] and not ir2.graph.values["w"].is_const
    x = rand(2, 4)
    check_roundtrip(model, {"x": x}, tmp_path)


def test_initializers_nothing_reads_are_left_out(tmp_path):
    """An initializer no node, body or output reads is dropped unread, as onnxruntime drops it (old exporters list
    one ``..._SHAPE`` per weight: 243 of ShuffleNet's 524), also where it is listed as an input (old IR).  The
    input list and the results stay as they were; one the caller sizes is an input still; a malformed one is
    still refused (the file's checks come first)."""
    model = small_model(opset=9)
    model.ir_version = 3
    model.graph.input.append(helper.make_tensor_value_info("w", F, [4, 3]))
    model.graph.initializer.append(numpy_helper.from_array(np.array([4, 3], np.int64), "w__SHAPE"))
    model.graph.input.append(helper.make_tensor_value_info("w__SHAPE", T.INT64, [2]))
    ir = load(model, tmp_path)
    assert ir.graph.inputs == ["x"] and ir.graph.values["w"].is_const and "w__SHAPE" not in ir.graph.values
    sized = load(model, tmp_path, input_shapes={"w__SHAPE": (2,)})
    assert sized.graph.inputs == ["x", "w__SHAPE"]
    check_roundtrip(model, {"x": rand(2, 4)}, tmp_path)
    broken = helper.make_tensor("broken", T.FLOAT, [1], [1.0])
    broken.dims[0] = 1000  # claims 1000 values, holds one
    model.graph.initializer.append(broken)
    with pytest.raises(ModelLoadError, match="broken"):
        load(model, tmp_path)


def test_sequence_and_optional_kinds(tmp_path):
    nodes = [
        helper.make_node("SequenceConstruct", ["x", "x"], ["seq"]),
        helper.make_node("SequenceAt", ["seq", "i"], ["a"]),
        helper.make_node("Optional", ["a"], ["opt"]),
        helper.make_node("OptionalGetElement", ["opt"], ["y"]),
    ]
    i = numpy_helper.from_array(np.array(1, np.int64), "i")
    model = make_model(nodes, [("x", F, [2, 3])], [("y", F, [2, 3])], 18, initializers=[i])
    ir, out = check_roundtrip(model, {"x": rand(2, 3)}, tmp_path)
    assert ir.graph.values["seq"].kind == "sequence" and ir.graph.values["seq"].dtype is DType.FLOAT32
    assert ir.graph.values["opt"].kind == "optional"
    written = {vi.name: vi for vi in onnx.load(str(out)).graph.value_info}
    assert written["seq"].type.HasField("sequence_type") and written["opt"].type.HasField("optional_type")


def test_type_proto_attribute(tmp_path):
    tp = helper.make_tensor_type_proto(F, None)
    nodes = [helper.make_node("Optional", [], ["o"], type=tp), helper.make_node("OptionalHasElement", ["o"], ["y"])]
    model = make_model(nodes, [], [("y", T.BOOL, [])], 18)
    ir, out = check_roundtrip(model, {}, tmp_path)
    attr = ir.graph.nodes[0].attrs["type"]
    assert attr["type"] == "tensor" and attr["elem_type"] == F


# ---------------------------------------------------------------- subgraphs and functions


def _if_loop_model(opset):
    """If whose branches read outer values (and hold a Constant), inside a Loop body."""
    c = helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.array(2.0, np.float32)))
    then_g = helper.make_graph([c, helper.make_node("Mul", ["acc_in", "two"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", F, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Add", ["acc_in", "x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", F, [2, 3])])
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["it"], ["it_f"], to=F),
            helper.make_node("Greater", ["it_f", "half"], ["cond_if"]),
            helper.make_node("If", ["cond_if"], ["acc_out"], then_branch=then_g, else_branch=else_g),
            helper.make_node("Softmax", ["acc_out"], ["scan_out"], axis=1),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [helper.make_tensor_value_info("it", T.INT64, []), helper.make_tensor_value_info("cond_in", T.BOOL, []),
         helper.make_tensor_value_info("acc_in", F, [2, 3])],
        [helper.make_tensor_value_info("cond_out", T.BOOL, []), helper.make_tensor_value_info("acc_out", F, [2, 3]),
         helper.make_tensor_value_info("scan_out", F, [2, 3])],
    )
    loop = helper.make_node("Loop", ["n", "", "x"], ["acc", "scans"], body=body)
    inits = [numpy_helper.from_array(np.array(4, np.int64), "n"),
             numpy_helper.from_array(np.array(1.5, np.float32), "half")]
    return make_model([loop], [("x", F, [2, 3])], [("acc", F, [2, 3]), ("scans", F, None)], opset, initializers=inits)


@pytest.mark.parametrize("opset", [11, 13])
def test_if_loop_roundtrip(tmp_path, opset):
    model = _if_loop_model(opset)
    ir, _ = check_roundtrip(model, {"x": rand(2, 3)}, tmp_path)
    loop = ir.graph.nodes[0]
    body = loop.attrs["body"]
    assert isinstance(body, Graph) and body.inputs == ["it", "cond_in", "acc_in"]
    if_node = next(n for n in body.nodes if n.op_type == "If")
    then_g = if_node.attrs["then_branch"]
    assert then_g.values["two"].is_const and "acc_in" in then_g.outer_references()
    assert "acc_in" not in then_g.values
    if opset == 11:  # the Softmax in the body was upgraded (axis 1 of a 2-D input is the last axis)
        assert next(n for n in body.nodes if n.op_type == "Softmax").attrs["axis"] == -1


def test_local_functions_are_inlined(tmp_path):
    fn = helper.make_function(
        "my.fns", "Scale2", ["a"], ["b"],
        [helper.make_node("Constant", [], ["k"], value_float=2.0), helper.make_node("Mul", ["a", "k"], ["b"])],
        opset_imports=[helper.make_opsetid("", 13)],
    )
    nodes = [helper.make_node("Scale2", ["x"], ["h"], domain="my.fns"), helper.make_node("Relu", ["h"], ["y"])]
    model = make_model(nodes, [("x", F, [3])], [("y", F, [3])], 13, functions=[fn], extra_opsets=[("my.fns", 1)])
    ir, _ = check_roundtrip(model, {"x": rand(3)}, tmp_path)
    assert [n.op_type for n in ir.graph.nodes] == ["Mul", "Relu"]


# ---------------------------------------------------------------- writer


def test_writer_com_microsoft_domain(tmp_path):
    g = Graph()
    g.values["a"] = Value("a", DType.FLOAT32, (2, 4))
    g.values["b"] = Value("b", DType.FLOAT32, (4, 3), const=rand(4, 3))
    g.values["y"] = Value("y", DType.FLOAT32, (2, 3))
    g.inputs, g.outputs = ["a"], ["y"]
    g.nodes.append(Node("FusedMatMul", ["a", "b"], ["y"], {"alpha": 2.0, "transA": 0, "transB": 0},
                        name="fmm", domain="com.microsoft"))
    path = tmp_path / "ms.onnx"
    OnnxSerializer().save(Model(g, opsets={"": 17}), path)
    written = onnx.load(str(path))
    assert {o.domain: o.version for o in written.opset_import} == {"": 17, "com.microsoft": 1}
    a = rand(2, 4)
    np.testing.assert_allclose(run_ort(path, {"a": a})[0], 2 * a @ g.values["b"].const, rtol=1e-5)


def test_writer_accepts_numpy_attribute_values(tmp_path):
    g = Graph()
    g.values["x"] = Value("x", DType.FLOAT32, (1, 1, 4, 4))
    g.values["y"] = Value("y", DType.FLOAT32, None)
    g.inputs, g.outputs = ["x"], ["y"]
    g.nodes.append(Node("MaxPool", ["x"], ["y"], {"kernel_shape": np.array([2, 2]), "strides": (2, 2),
                                                   "ceil_mode": np.int64(0), "auto_pad": "NOTSET"}, name="mp"))
    path = tmp_path / "pool.onnx"
    OnnxSerializer().save(Model(g, opsets={"": 22}), path)
    x = rand(1, 1, 4, 4)
    np.testing.assert_array_equal(run_ort(path, {"x": x})[0], x.reshape(1, 1, 2, 2, 2, 2).max(axis=(3, 5)))


def test_writer_external_data_when_large(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_mod, "EXTERNAL_DATA_THRESHOLD", 16)
    monkeypatch.setattr(writer_mod, "EXTERNAL_TENSOR_MIN_BYTES", 16)
    model = small_model()
    ir = load(model, tmp_path)
    out = tmp_path / "big.onnx"
    (tmp_path / "big.onnx.data").write_bytes(b"stale")
    OnnxSerializer().save(ir, out)
    assert (tmp_path / "big.onnx.data").stat().st_size == 4 * 3 * 4
    x = rand(2, 4)
    np.testing.assert_allclose(run_ort(out, {"x": x})[0], run_ort(model, {"x": x})[0])
    again = OnnxFrontend().load(out, LoadOptions())
    np.testing.assert_array_equal(again.graph.values["w"].const, ir.graph.values["w"].const)


def test_writer_opsets_and_value_info(tmp_path):
    ir, out = roundtrip(small_model(opset=9), tmp_path)
    written = onnx.load(str(out))
    assert {o.domain: o.version for o in written.opset_import} == {"": onnx.defs.onnx_opset_version()}
    vi = {v.name: v for v in written.graph.value_info}
    dims = vi["h"].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 3
    assert written.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert {p.key: p.value for p in written.metadata_props}["source_opset"] == "9"


def test_sniff():
    fe = OnnxFrontend()
    assert fe.sniff(small_model().SerializeToString()[:64])
    assert fe.sniff(small_model(opset=7).SerializeToString()[:16])
    assert not fe.sniff(b"PK\x03\x04 not a model")
    assert not fe.sniff(b"\x89HDF\r\n")
    assert not fe.sniff(b"")
    assert not fe.sniff(numpy_helper.from_array(rand(3, 3)).SerializeToString()[:64])


def test_plugin_hooks_register():
    from litert_formats import plugin

    frontends, serializers = [], []
    plugin.litert_register_frontends(register=frontends.append)
    plugin.litert_register_serializers(register=serializers.append)
    [onnx] = [f for f in frontends if f.name == "onnx"]
    assert onnx.extensions == (".onnx",)
    assert "onnx" in [s.name for s in serializers]


def test_plugin_host_registration():
    from litert.plugins import PluginHost
    from litert_formats import plugin

    host = PluginHost()
    host.register(plugin, "formats")
    assert "onnx" in host.frontends and "onnx" in host.serializers
    assert "onnxruntime" in [e.lower() for e in host.reference_engines]


@pytest.mark.parametrize("declared", [[-1, 3], [-7, 3], [0, 3]])
def test_negative_and_zero_declared_dims_behave_as_in_onnxruntime(tmp_path, declared):
    """A negative dim_value is dynamic (Paddle exports a literal -1 batch); 0 is a static zero size."""
    import onnxruntime as ort

    import litert

    x = helper.make_tensor_value_info("x", T.FLOAT, declared)
    y = helper.make_tensor_value_info("y", T.FLOAT, None)
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "dims.onnx"
    onnx.save(model, path)
    ours = litert.load(path)
    theirs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (0, 2, 5):
        data = np.linspace(-1, 1, batch * 3, dtype=np.float32).reshape(batch, 3)
        try:
            want = theirs.run(None, {"x": data})[0]
        except Exception:  # onnxruntime refuses this batch: so must litert, with a typed error
            with pytest.raises(InputError):
                ours.run({"x": data})
            continue
        np.testing.assert_array_equal(ours.run({"x": data})["y"], want)
