"""The rough edges a MindSpore Lite user hit (issue 15), each pinned by a test that failed before its fix.

Models: the committed converter_lite ``.ms`` fixtures (``tests/data/ms``, NHWC
by default) and the ONNX models they were made from
(``tools/mslite/fixture_models.py``, seeded, so the same weights).
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "ms"
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import fixture_models  # noqa: E402

import litert  # noqa: E402
from litert.benchmark import compare  # noqa: E402
from litert.benchmark.inputs import random_inputs  # noqa: E402
from litert.benchmark.matching import origin  # noqa: E402
from litert.errors import InputError, UnsupportedOperatorError  # noqa: E402
from litert.limits import DEFAULT_FOLD_LIMIT, fold_limit  # noqa: E402


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """small_cnn: the converter_lite .ms (NHWC input), its ONNX source, NCHW and NHWC input files."""
    root = tmp_path_factory.mktemp("cnn")
    model, inputs = fixture_models.small_cnn()
    onnx.save(model, root / "small_cnn.onnx")
    [x] = inputs.values()
    np.save(root / "x_nchw.npy", x)
    np.save(root / "x_nhwc.npy", x.transpose(0, 2, 3, 1))
    x.transpose(0, 2, 3, 1).astype(np.float32).tofile(root / "x_nhwc.bin")
    return {"dir": root, "ms": DATA / "small_cnn.ms", "onnx": root / "small_cnn.onnx", "model": model, "x": x}


# -- litert compare --model m.ms --reference m.onnx ---------------------------------------------------------


def test_compare_nhwc_ms_with_its_onnx_source_matches_the_intermediate_nodes(cnn):
    result = compare(cnn["ms"], cnn["onnx"], inputs=[str(cnn["dir"] / "x_nhwc.npy")])
    assert result.passed, [t for t in result.diverged]
    # not only the two outputs: the converted nodes' tensors found their ONNX counterparts
    inner = [t for t in result.tensors if not t.is_output]
    assert len(inner) >= 12
    assert {origin(t.node) for t in inner} >= {"Conv_3", "MaxPool_13", "Concat_27", "Conv_31", "LRN_39", "Add_47"}
    # Conv_3 is a Conv+BatchNorm+ReLU fused by converter_lite: compared where the ONNX ReLU ends
    [conv3] = [t for t in inner if origin(t.node) == "Conv_3"]
    assert "reference tensor 'relu_10'" in conv3.note
    # and the other way round: the ONNX model checked against the .ms (run by litert, NHWC data for it)
    back = compare(cnn["onnx"], cnn["ms"], inputs=[str(cnn["dir"] / "x_nchw.npy")])
    assert back.reference_engine == "litert" and back.passed and sum(not t.is_output for t in back.tensors) >= 12


def test_compare_names_the_first_diverging_node_across_the_conversion(cnn, tmp_path):
    """The original with one convolution's weights scaled: the .ms departs from it exactly there."""
    bad = onnx.ModelProto()
    bad.CopyFrom(cnn["model"])
    [conv] = [n for n in bad.graph.node if n.name == "Conv_31"]
    [weight] = [i for i in bad.graph.initializer if i.name == conv.input[1]]
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * 1.2, weight.name))
    onnx.save(bad, tmp_path / "bad.onnx")
    result = compare(cnn["ms"], tmp_path / "bad.onnx", inputs=[str(cnn["dir"] / "x_nhwc.npy")])
    first = result.first_divergence
    assert first is not None and origin(first.node) == "Conv_31"
    index = result.tensors.index(first)
    assert index >= 6 and not any(t.diverged for t in result.tensors[:index])
    # what the source Conv_31 reads (not the pre-activation inside the fused node) agrees: the ONNX concat_26
    [agreeing] = [t for t in result.tensors if t.name in result.agreeing_inputs]
    assert "reference tensor 'concat_26'" in agreeing.note
    cli = _cli("compare", "--model", str(cnn["ms"]), "--reference", str(tmp_path / "bad.onnx"))
    assert cli.returncode == 1 and "first diverging node 'Conv_31/" in cli.stderr


def test_compare_litert_written_ms_with_random_nhwc_inputs(cnn, tmp_path):
    out = tmp_path / "lt.ms"
    litert.convert(cnn["onnx"], out)
    result = compare(out, cnn["onnx"])  # seeded random NHWC data, transposed for onnxruntime
    assert result.passed and sum(not t.is_output for t in result.tensors) >= 8


# -- NCHW data for an NHWC .ms ---------------------------------------------------------------------------


def test_nchw_data_for_an_nhwc_model_says_the_layout_and_transposes_on_request(cnn):
    session = litert.load(cnn["ms"])
    with pytest.raises(InputError) as err:
        session.predict([cnn["x"]])
    message = str(err.value)
    assert "NHWC [1, 32, 32, 3]" in message and "NCHW data [1, 3, 32, 32]" in message and "layout=" in message
    with pytest.raises(InputError, match="is NHWC"):  # the old hint, resize, is refused with the same words
        session.resize({"image": (1, 3, 32, 32)})
    expected = session.predict([cnn["x"].transpose(0, 2, 3, 1)])
    for got, want in zip(session.predict([cnn["x"]], layout="NCHW"), expected):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(InputError, match="NCHW or NHWC"):
        session.predict([cnn["x"]], layout="CHW")
    ran = _cli("run", "--model", str(cnn["ms"]), "--input", str(cnn["dir"] / "x_nchw.npy"), "--input-layout", "NCHW")
    assert ran.returncode == 0, ran.stderr
    refused = _cli("run", "--model", str(cnn["ms"]), "--input", str(cnn["dir"] / "x_nchw.npy"))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "--input-layout NCHW" in refused.stderr


# -- litert run: devices, .bin, random --------------------------------------------------------------------


def test_run_on_an_absent_device_fails_unless_the_cpu_fallback_is_allowed(cnn):
    x = str(cnn["dir"] / "x_nhwc.npy")
    strict = _cli("run", "--model", str(cnn["ms"]), "--input", x, "--device", "ascend")
    assert strict.returncode == 1
    assert "'ascend' is unavailable" in strict.stderr and "--device ascend,cpu" in strict.stderr
    allowed = _cli("run", "--model", str(cnn["ms"]), "--input", x, "--device", "ascend,cpu")
    assert allowed.returncode == 0, allowed.stderr
    [warning] = [line for line in allowed.stderr.splitlines() if "ascend" in line]
    assert "unavailable" in warning and "falling back to cpu" in warning


def test_api_warns_when_a_requested_device_is_absent(cnn, caplog):
    with caplog.at_level(logging.WARNING, logger="litert"):
        litert.load(cnn["ms"], devices=["ascend"])
    assert any("'ascend' was requested but is unavailable" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="litert"):
        litert.load(cnn["ms"])  # no device asked for: the CPU is the plan, not a fallback
    assert not any("requested" in r.getMessage() for r in caplog.records)


def test_run_takes_raw_bin_and_random_inputs(cnn, tmp_path):
    npy = _cli("run", "--model", str(cnn["ms"]), "--input", str(cnn["dir"] / "x_nhwc.npy"),
               "--output", str(tmp_path / "a.npz"))
    raw = _cli("run", "--model", str(cnn["ms"]), "--input", str(cnn["dir"] / "x_nhwc.bin"),
               "--output", str(tmp_path / "b.npz"))
    assert npy.returncode == 0 and raw.returncode == 0, raw.stderr
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert a.files == b.files == ["gemm_54", "softmax_56"]
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
    seeded = _cli("run", "--model", str(cnn["ms"]), "--random", "--seed", "7", "--output", str(tmp_path / "r.npz"))
    assert seeded.returncode == 0, seeded.stderr
    assert "input image: float32 [1, 32, 32, 3] from random (seed 7)" in seeded.stdout
    session = litert.load(cnn["ms"])
    expected = session.run(random_inputs(session, 7))
    got = np.load(tmp_path / "r.npz")
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value)
    neither = _cli("run", "--model", str(cnn["ms"]))
    assert neither.returncode == 1 and "--random" in neither.stderr
    raw_nchw = _cli("run", "--model", str(cnn["ms"]), "--input", str(cnn["dir"] / "x_nhwc.bin"),
                    "--input-layout", "NCHW")
    assert raw_nchw.returncode == 1 and "raw buffer" in raw_nchw.stderr


# -- litert info ---------------------------------------------------------------------------------------------


def test_info_into_a_closed_pipe_stops_quietly():
    """``litert info m.ms | head -1``: the reader is gone before litert writes."""
    proc = subprocess.Popen([sys.executable, "-m", "litert.cli.main", "info", str(DATA / "bert_tiny.ms")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141, stderr  # 128 + SIGPIPE, as cat or grep
    assert b"Broken pipe" not in stderr and b"Traceback" not in stderr


def test_info_says_how_weights_are_quantised(tmp_path):
    quantised = json.loads(_cli("info", str(DATA / "small_cnn_weightquant.ms"), "--json").stdout)
    assert quantised["quantization"].startswith("4 weights: per-channel 4")
    assert quantised["metadata"]["ms.weight_quant"] == "4 tensors int8 8-bit per-channel"
    text = _cli("info", str(DATA / "small_cnn_weightquant.ms")).stdout
    assert "ms weight quant:  4 tensors int8 8-bit per-channel" in text
    assert "quant:    none (float weights)" in _cli("info", str(DATA / "small_cnn.ms")).stdout
    # an ONNX QDQ model: an int8 weight, per-channel, through DequantizeLinear; a uint8 per-tensor one
    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.int8), "w_q")
    scale = numpy_helper.from_array(np.full(4, 0.1, np.float32), "w_scale")
    zero = numpy_helper.from_array(np.zeros(4, np.int8), "w_zero")
    m = numpy_helper.from_array(np.ones((4, 4), np.uint8), "m_q")
    m_scale = numpy_helper.from_array(np.array(0.5, np.float32), "m_scale")
    nodes = [helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"], axis=0),
             helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("DequantizeLinear", ["m_q", "m_scale"], ["m"]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("MatMul", ["f", "m"], ["y"])]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [w, scale, zero, m, m_scale])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "qdq.onnx")
    info = json.loads(_cli("info", str(tmp_path / "qdq.onnx"), "--json").stdout)
    assert info["quantization"] == "2 weights: int8 8-bit per-channel 1, uint8 8-bit per-tensor 1"


# -- writers -------------------------------------------------------------------------------------------------


def test_mindir_keeps_the_graph_output_names(cnn, tmp_path):
    x = cnn["x"]
    renamed = onnx.ModelProto()
    renamed.CopyFrom(cnn["model"])
    for node in renamed.graph.node:  # the name the issue saw renamed: softmaxout_1
        node.output[:] = ["softmaxout_1" if o == "softmax_56" else o for o in node.output]
    renamed.graph.output[1].name = "softmaxout_1"
    onnx.save(renamed, tmp_path / "m.onnx")
    litert.convert(tmp_path / "m.onnx", tmp_path / "m.mindir")
    session = litert.load(tmp_path / "m.mindir")
    assert [o.name for o in session.outputs] == ["gemm_54", "softmaxout_1"]
    expected = litert.load(tmp_path / "m.onnx").run({"image": x})
    got = session.run([x])
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6)
    litert.convert(tmp_path / "m.mindir", tmp_path / "back.onnx")  # and on through another conversion
    assert [o.name for o in onnx.load(tmp_path / "back.onnx").graph.output] == ["gemm_54", "softmaxout_1"]


def _constant_of_shape_model(path: Path, n: int) -> None:
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["filled"], name="fill",
                              value=numpy_helper.from_array(np.array([0.5], np.float32))),
             helper.make_node("Add", ["x", "filled"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
                              [numpy_helper.from_array(np.array([n], np.int64), "shape")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _eye_like_model(path: Path, n: int) -> None:
    """An op the .ms writer cannot express (it writes ConstantOfShape since the converter_lite coverage work)."""
    nodes = [helper.make_node("EyeLike", ["square"], ["filled"], name="fill"),
             helper.make_node("Add", ["x", "filled"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
                              [numpy_helper.from_array(np.zeros((n, n), np.float32), "square")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize("suffix", [".ms", ".mindir"])
def test_export_over_the_folding_limit_names_the_limit_and_how_to_raise_it(tmp_path, monkeypatch, suffix):
    assert fold_limit() == DEFAULT_FOLD_LIMIT == 256 * 2**20
    src = tmp_path / "m.onnx"
    if suffix == ".ms":  # a 3600-byte constant; with the limit at 1 KiB it is not folded
        _eye_like_model(src, 30)
        x = np.arange(900, dtype=np.float32).reshape(30, 30)
        want = x + np.eye(30, dtype=np.float32)
    else:  # a 4000-byte constant; with the limit at 1 KiB it is not folded
        _constant_of_shape_model(src, 1000)
        x = np.arange(1000, dtype=np.float32)
        want = x + 0.5
    monkeypatch.setenv("LITERT_FOLD_LIMIT", "1K")
    with pytest.raises(UnsupportedOperatorError) as err:
        litert.convert(src, tmp_path / f"m{suffix}")
    message = str(err.value)
    assert "'fill'" in message and "constant-folding limit of 1.0 KiB" in message
    assert "LITERT_FOLD_LIMIT=4K" in message
    monkeypatch.setenv("LITERT_FOLD_LIMIT", "4K")  # raised as the message says: it converts
    litert.convert(src, tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(litert.load(tmp_path / f"m{suffix}").predict([x])[0], want)
