"""Writing .ms files (no MindSpore Lite needed: test_ms_live.py runs them in MindSpore Lite).

litert writes the project's models as .ms, reads them back and must match
onnxruntime; the files are checked for what MindSpore Lite 2.0.0 expects
(identifier, version string, channels-last primitives with OHWI weights) and
against the primitives converter_lite itself emits for the same model.
"""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import fixture_models  # noqa: E402
import ms_testlib as lib  # noqa: E402

import litert  # noqa: E402
from litert.convert import optimize_model  # noqa: E402
from litert.errors import UnsupportedOperatorError  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.ms.msfile import MsFile  # noqa: E402
from litert_formats.ms.reader import primitive_histogram  # noqa: E402
from litert_formats.ms.writer import MsSerializer  # noqa: E402

ort = pytest.importorskip("onnxruntime")


def _ort(model: onnx.ModelProto, inputs: dict) -> list[np.ndarray]:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)


def _write(model: onnx.ModelProto, tmp_path: Path, input_format: str = "NHWC", optimize: str = "general") -> Path:
    src = tmp_path / "model.onnx"
    onnx.save(model, src)
    ir = read_model(src)
    optimize_model(ir, optimize)
    out = tmp_path / f"model_{input_format}_{optimize}.ms"
    MsSerializer(input_format).save(ir, out)
    return out


@pytest.mark.parametrize("input_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_v2_tiny", "bert_tiny", "lstm", "ops_4d", "ops_3d"])
def test_written_model_reads_back_with_onnxruntimes_outputs(tmp_path, name, input_format):
    model, inputs = fixture_models.FIXTURES[name][0]()
    reference = _ort(model, inputs)
    path = _write(model, tmp_path, input_format)
    feeds = fixture_models.to_layout(inputs, input_format)
    outputs = litert.load(path).predict(list(feeds.values()))
    for got, want in zip(outputs, reference):
        lib.assert_matches(got, want, f"{name} ({input_format})")


def test_unoptimised_ir_writes_too(tmp_path):
    model, inputs = fixture_models.small_cnn()
    path = _write(model, tmp_path, "NHWC", optimize="none")
    outputs = litert.load(path).predict(list(fixture_models.to_layout(inputs, "NHWC").values()))
    for got, want in zip(outputs, _ort(model, inputs)):
        lib.assert_matches(got, want, "small_cnn unoptimised")


def test_file_is_what_mindspore_lite_expects(tmp_path):
    model, _ = fixture_models.mobilenet_v2_tiny()
    path = _write(model, tmp_path)
    data = path.read_bytes()
    assert data[4:8] == b"MSL2"
    ms = MsFile(path)
    assert ms.version == f"litert {litert.__version__}" and ms.fmk_type == 2  # the producer, not MindSpore Lite
    assert ms.tensors[ms.inputs[0]].dims == (1, 32, 32, 3)
    convs = [n for n in ms.nodes if n.primitive == "Conv2DFusion"]
    assert convs and all(n.attrs["format"] == 1 for n in convs)
    first = convs[0]
    weight = ms.tensors[first.inputs[1]]
    source = onnx.numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == model.graph.node[0].input[1]))
    assert weight.dims == (8, 3, 3, 3)  # O, H, W, I
    assert first.attrs["activation_type"] == 3  # ReLU6 fused, as converter_lite does
    assert weight.data.shape == (8, 3, 3, 3) and source.shape == (8, 3, 3, 3)
    for t in ms.tensors:
        if t.is_const and t.data.nbytes >= 16:
            assert t.data.ctypes.data % 16 == 0, t.name  # constant data is 16-byte aligned in the file
    nchw = MsFile(_write(model, tmp_path, "NCHW"))
    assert nchw.tensors[nchw.inputs[0]].dims == (1, 3, 32, 32)


def test_same_primitives_as_converter_lite(tmp_path):
    """litert writes mobilenet_v2_tiny with exactly the primitives converter_lite chose (fixture)."""
    model, _ = fixture_models.mobilenet_v2_tiny()
    ours = primitive_histogram(MsFile(_write(model, tmp_path)))
    theirs = primitive_histogram(MsFile(lib.DATA / "mobilenet_v2_tiny.ms"))
    assert ours == theirs


@pytest.mark.parametrize("name", ["small_cnn", "small_cnn_nchw", "bert_tiny", "lstm", "ops_4d", "ops_3d"])
def test_ms_to_ms_round_trip(tmp_path, name):
    path, inputs, msl, _, _ = lib.fixture(name)
    ir = read_model(path)
    out = tmp_path / "again.ms"
    MsSerializer().save(ir, out)
    again = MsFile(out)
    assert [again.tensors[i].dims for i in again.inputs] == [MsFile(path).tensors[i].dims for i in MsFile(path).inputs]
    outputs = litert.load(out).predict(inputs)
    for got, want in zip(outputs, msl):
        lib.assert_matches(got, want, f"{name} rewritten")


def test_unsupported_operator_is_named(tmp_path):
    node = helper.make_node("Det", ["x"], ["y"], name="the_det")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedOperatorError, match="the_det") as err:
        _write(model, tmp_path)
    assert err.value.op_type == "Det"


def test_int64_is_narrowed_like_converter_lite(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    shape = onnx.numpy_helper.from_array(np.array([0, 12], np.int64), "shape")
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"])], "g", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = _write(model, tmp_path)
    ms = MsFile(path)
    shape_tensor = next(t for t in ms.tensors if t.is_const)
    assert shape_tensor.type_id == 34 and shape_tensor.data.tolist() == [0, 12]
    x_data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert np.array_equal(litert.load(path).predict([x_data])[0], x_data.reshape(2, 12))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True)


def test_cli_convert_input_format_and_info(tmp_path):
    model, inputs = fixture_models.small_cnn()
    src = tmp_path / "cnn.onnx"
    onnx.save(model, src)
    for fmt, dims in (("NHWC", "1x32x32x3"), ("NCHW", "1x3x32x32")):
        out = tmp_path / f"cnn_{fmt}.ms"
        result = _cli("convert", "--fmk", "onnx", "--model", str(src), "--output", str(out), "--input-format", fmt)
        assert result.returncode == 0, result.stderr
        info = _cli("info", str(out))
        assert info.returncode == 0, info.stderr
        assert f"image: float32 [{dims}]" in info.stdout
        assert f"ms version:       litert {litert.__version__}" in info.stdout
        assert "ms fmk type:      2 (ONNX)" in info.stdout
        assert "ms primitives:    Conv2DFusion 5" in info.stdout
        assert "ms weight bytes:" in info.stdout
    default = tmp_path / "cnn_default.ms"
    assert _cli("convert", "--fmk", "onnx", "--model", str(src), "--output", str(default)).returncode == 0
    assert MsFile(default).tensors[MsFile(default).inputs[0]].dims == (1, 32, 32, 3)
    np.save(tmp_path / "image.npy", fixture_models.to_layout(inputs, "NHWC")["image"])
    run = _cli("run", "--model", str(default), "--input", str(tmp_path / "image.npy"), "--output", str(tmp_path / "o.npz"))
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "o.npz")
    lib.assert_matches(got[got.files[0]], _ort(model, inputs)[0], "litert run")
    wrong = _cli("convert", "--model", str(src), "--output", str(tmp_path / "x.onnx"), "--input-format", "NCHW")
    assert wrong.returncode == 1 and "applies to .ms output" in wrong.stderr


def test_converter_fixture_info_lines():
    info = _cli("info", str(lib.DATA / "bert_tiny.ms"))
    assert info.returncode == 0, info.stderr
    primitives = Counter(dict(item.rsplit(" ", 1) for item in
                              info.stdout.split("ms primitives:")[1].splitlines()[0].strip().split(", ")))
    assert primitives["MatMulFusion"] == "16" and primitives["LayerNormFusion"] == "5"
    assert "ms version:       (empty)" in info.stdout


def test_quant_params_are_kept_both_ways(tmp_path):
    """Per-channel quantisation parameters travel IR -> .ms QuantParam -> IR Value.quant."""
    from litert.ir import DType, Graph, Model, Node, QuantParams, Value

    weight = np.arange(6, dtype=np.float32).reshape(2, 3)
    quant = QuantParams(np.array([0.5, 0.25], np.float32), np.array([1, -2], np.int32), axis=0)
    graph = Graph(nodes=[Node("MatMul", ["x", "w"], ["y"], name="mm")], inputs=["x"], outputs=["y"])
    graph.values["x"] = Value("x", DType.FLOAT32, (4, 2))
    graph.values["w"] = Value("w", DType.FLOAT32, (2, 3), const=weight, quant=quant)
    graph.values["y"] = Value("y")
    path = tmp_path / "q.ms"
    MsSerializer().save(Model(graph=graph, opsets={"": 21}), path)
    raw = next(t for t in MsFile(path).tensors if t.name == "w").quant_raw
    assert [(p["scale"], p["zeroPoint"], p["inited"]) for p in raw] == [(0.5, 1, True), (0.25, -2, True)]
    back = read_model(path).graph.values["w"].quant
    assert back is not None and back.axis == 0
    assert np.allclose(back.scale, [0.5, 0.25]) and back.zero_point.tolist() == [1, -2]
    x = np.ones((4, 2), np.float32)
    assert np.allclose(litert.load(path).predict([x])[0], x @ weight)


def test_residual_block_fused_by_the_optimizer(tmp_path):
    """conv -> add(residual) -> relu becomes one FusedConv with a Z input in litert's optimiser; the
    writer must split it back into Conv2DFusion + AddFusion (+ ReLU), as in every ResNet block."""
    n = fixture_models._Net(0)
    y = n.op("Relu", [n.op("Add", [n.conv("x", 4, 4, 3, pads=[1, 1, 1, 1]), "x"])])
    model = n.model("residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                    [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 4, 6, 6])])
    src = tmp_path / "residual.onnx"
    onnx.save(model, src)
    ir = read_model(src)
    optimize_model(ir)
    path = tmp_path / "residual.ms"
    MsSerializer().save(ir, path)
    primitives = primitive_histogram(MsFile(path))
    assert primitives["Conv2DFusion"] == 1 and primitives["AddFusion"] == 1, primitives
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 6)).astype(np.float32)
    got = litert.load(path, optimize="none").predict([x.transpose(0, 2, 3, 1)])[0]
    lib.assert_matches(got, _ort(model, {"x": x})[0], "residual block")  # outputs keep the model's layout


def test_where_is_written_and_read_back(tmp_path):
    """BERT-style attention masks: ONNX Where -> MindSpore Lite's three-input Where primitive -> Where again."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])
    mask = helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 5])
    fill = onnx.numpy_helper.from_array(np.array(-1e4, np.float32), "fill")
    graph = helper.make_graph([helper.make_node("Where", ["mask", "x", "fill"], ["y"])], "g", [mask, x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])], [fill])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = _write(model, tmp_path)
    assert primitive_histogram(MsFile(path))["Where"] == 1
    rng = np.random.default_rng(0)
    inputs = {"mask": rng.random((2, 5)) > 0.5, "x": rng.standard_normal((2, 5)).astype(np.float32)}
    got = litert.load(path).predict([inputs["mask"], inputs["x"]])[0]
    np.testing.assert_array_equal(got, _ort(model, inputs)[0])
