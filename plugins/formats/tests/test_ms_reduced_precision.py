"""Reduced-precision .ms files: converter_lite's ``--fp16=on`` and DYNAMIC_QUANT files, and litert's FULL_QUANT
and ``weight_fp16`` files (committed fixtures with MindSpore Lite 2.0.0's outputs, tests/data/ms_quant, made by
tools/mslite/make_quant_fixtures.py; no MindSpore Lite needed here).

converter_lite 2.0 (the PyPI wheel) cannot write full quantisation (its calibration step fails, see the
manifest), so the full-quantisation fixture is litert's file, run by MindSpore Lite when it was made.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import fixture_models  # noqa: E402
import ms_testlib as lib  # noqa: E402

import litert  # noqa: E402
from litert.ir import DType  # noqa: E402
from litert_formats.ms.msfile import MsFile  # noqa: E402
from litert_formats.ms.types import QuantType  # noqa: E402

DATA = lib.ROOT / "tests" / "data" / "ms_quant"
FLOAT16, FLOAT32, INT8, INT32 = 42, 43, 32, 34
#: litert and MindSpore Lite on the same full-quantisation file: both requantise to int8 after every layer
#: (litert in float32, MindSpore Lite with fixed-point multipliers), so an int8 value may differ by one step
#: and the difference carries on; measured 0.4% of the logits' scale on this model
FULL_QUANT_TOLERANCE_OF_SCALE = 0.02


def fixture(name: str):
    data = np.load(DATA / f"{name}.npz")
    outs = len(data["output_names"])
    return DATA / f"{name}.ms", data["in_0"], [data[f"msl_{i}"] for i in range(outs)], \
        [data[f"ort_{i}"] for i in range(outs)]


def run(path, image):
    session = litert.load(path)
    return session, session.predict({session.inputs[0].name: image})


def const_types(path) -> list[int]:
    ms = MsFile(Path(path))
    return [t.type_id for t in ms.tensors if t.is_const and t.data is not None]


def test_manifest_records_why_the_full_quant_fixture_is_litert_s():
    manifest = json.loads((DATA / "manifest.json").read_text())
    assert manifest["mindspore_lite"] == "2.0.0"
    assert "full_quant_quantizer" in manifest["converter_lite_full_quant"]


# ---------------------------------------------------------------- float16 constants


def test_converter_lite_fp16_file_runs_in_litert():
    path, image, msl, _ = fixture("small_cnn_fp16")
    types = const_types(path)
    assert FLOAT16 in types and FLOAT32 not in types  # converter_lite stores every float constant as float16
    session, outputs = run(path, image)
    assert session.model.metadata["ms.fp16_constants"].endswith("read as float32")
    for got, want in zip(outputs, msl):
        lib.assert_matches(got, want, "small_cnn_fp16 vs MindSpore Lite")


def test_litert_writes_float16_constants_as_converter_lite_does(tmp_path):
    model, inputs = fixture_models.small_cnn()
    source = tmp_path / "small_cnn.onnx"
    onnx.save(model, source)
    litert.convert(source, tmp_path / "f32.ms")
    litert.convert(source, tmp_path / "f16.ms", weight_fp16=True)
    ours, theirs = const_types(tmp_path / "f16.ms"), const_types(DATA / "small_cnn_fp16.ms")
    assert sorted(ours) == sorted(theirs)  # the same constants float16 (weights, biases), the same kept int32
    ratio = (tmp_path / "f16.ms").stat().st_size / (tmp_path / "f32.ms").stat().st_size
    assert ratio < 0.8, ratio  # a small model: the graph itself is a good part of the file
    image = np.ascontiguousarray(inputs["image"].transpose(0, 2, 3, 1))
    _, full = run(tmp_path / "f32.ms", image)
    _, half = run(tmp_path / "f16.ms", image)
    for got, want in zip(half, full):  # float16 weights: about 3 significant digits
        assert np.max(np.abs(got - want)) <= 2e-3 * np.max(np.abs(want))


def test_float16_constants_apply_to_ms_output_only(tmp_path):
    model, _ = fixture_models.small_cnn()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    with pytest.raises(litert.errors.InputError, match="apply to .ms output"):
        litert.convert(source, tmp_path / "out.onnx", weight_fp16=True)
    assert not (tmp_path / "out.onnx").exists()


# ---------------------------------------------------------------- dynamic quantisation


def test_converter_lite_dynamic_quant_file_runs_in_litert():
    path, image, msl, ort = fixture("small_cnn_dynamicquant")
    ms = MsFile(path)
    dynamic = [n for n in ms.nodes if n.quant_type == QuantType.QUANT_DYNAMIC]
    assert {n.primitive for n in dynamic} == {"DynamicQuant", "MatMulFusion"}
    _, outputs = run(path, image)
    for got, want in zip(outputs, msl):  # the same run-time int8 grid: float32 rounding apart
        lib.assert_matches(got, want, "small_cnn_dynamicquant vs MindSpore Lite")


# ---------------------------------------------------------------- full quantisation


def _full_quant_config(tmp_path, image_nchw: np.ndarray, skip: str = "") -> Path:
    """The config tools/mslite/make_quant_fixtures.py made the fixture with (same seeded samples); ``skip``:
    the nodes to keep float (``skip_quant_node``)."""
    folder = tmp_path / "nchw"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for index in range(16):
        rng.standard_normal(image_nchw.shape).astype(np.float32).tofile(folder / f"{index:02d}.bin")
    config = tmp_path / "full.cfg"
    skip_line = f"skip_quant_node={skip}\n" if skip else ""
    config.write_text(f"[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n{skip_line}\n[data_preprocess_param]\n"
                      f"calibrate_path=image:{folder}\ncalibrate_size=16\ninput_type=BIN\n\n[full_quant_param]\n"
                      "activation_quant_method=MAX_MIN\nbias_correction=false\nper_channel=true\n")
    return config


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """small_cnn fully quantised by litert now (the fixture is the same file, run by MindSpore Lite)."""
    tmp_path = tmp_path_factory.mktemp("full")
    model, inputs = fixture_models.small_cnn()
    source = tmp_path / "small_cnn.onnx"
    onnx.save(model, source)
    path = tmp_path / "full.ms"
    litert.quantize(source, path, _full_quant_config(tmp_path, inputs["image"]), progress=False)
    return path


def test_full_quant_layout_is_mindspore_lite_s(written):
    ms = MsFile(written)
    tensors = ms.tensors
    integer = [n for n in ms.nodes if n.quant_type == QuantType.QUANT_ALL and n.primitive != "QuantDTypeCast"]
    # the logits Gemm too: a graph output is int8 up to its QuantDTypeCast, as converter_lite makes it
    assert sorted(n.primitive for n in integer) == ["Conv2DFusion"] * 5 + ["MatMulFusion"]
    for node in integer:
        x, w, b = (tensors[i] for i in node.inputs)
        y = tensors[node.outputs[0]]
        assert x.type_id == y.type_id == INT8 and len(x.quant_raw) == len(y.quant_raw) == 1
        assert w.type_id == INT8 and len(w.quant_raw) == w.dims[0]  # per output channel
        assert all(p["zeroPoint"] == 0 for p in w.quant_raw)  # symmetric weights
        assert b.type_id == INT32
        expected = np.array([x.quant_raw[0]["scale"] * p["scale"] for p in w.quant_raw])
        np.testing.assert_allclose([p["scale"] for p in b.quant_raw], expected, rtol=1e-6)
    first = ms.nodes[0]
    assert first.primitive == "QuantDTypeCast" and first.inputs == ms.inputs
    assert (first.attrs["src_t"], first.attrs["dst_t"]) == (FLOAT32, INT8)
    assert all(tensors[i].type_id == FLOAT32 for i in ms.outputs)


def test_full_quant_writer_is_stable(written):
    """The file litert writes now computes what the fixture MindSpore Lite ran computes in litert."""
    path, image, _, _ = fixture("small_cnn_fullquant_litert")
    _, now = run(written, image)
    _, then = run(path, image)
    for a, b in zip(now, then):
        lib.assert_matches(a, b, "litert's full-quant file now vs the fixture")


def test_litert_full_quant_file_matches_mindspore_lite():
    path, image, msl, ort = fixture("small_cnn_fullquant_litert")
    session, outputs = run(path, image)
    for got, want, float_ in zip(outputs, msl, ort):
        scale = float(np.max(np.abs(want)))
        assert np.max(np.abs(got - want)) <= FULL_QUANT_TOLERANCE_OF_SCALE * scale
        assert np.max(np.abs(got - float_)) <= 0.05 * scale  # and quantised, not broken
    assert np.argmax(outputs[0]) == np.argmax(msl[0])


def test_full_quant_file_runs_on_integer_kernels():
    """The reader gives the QDQ form, which the CPU backend folds into QLinearConv (int8 weights in memory)."""
    from litert.formats import LoadOptions
    from litert.passes import PassContext
    from litert.passes.qdq import QdqFolding
    from litert.runtime.loading import read_model

    model = read_model(DATA / "small_cnn_fullquant_litert.ms", None, LoadOptions())
    QdqFolding().run(model, PassContext())
    folded = [n for n in model.graph.nodes if n.op_type == "QLinearConv"]
    assert len(folded) == 5
    for node in folded:
        assert model.graph.values[node.inputs[3]].const.dtype == np.int8


def test_dynamic_quant_is_written_as_converter_lite_does(tmp_path):
    """DynamicQuant (per tensor, asymmetric int8) + MatMulFusion reading its int8 output and an int8 weight with one
    QuantParam per output column, both QUANT_DYNAMIC (the layout of the converter_lite fixture); read back, it
    computes what litert's dynamic-quantised ONNX computes."""
    model, inputs = fixture_models.small_cnn()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    config = tmp_path / "dyn.cfg"
    config.write_text("[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=8\n")
    litert.quantize(source, tmp_path / "dyn.ms", config, progress=False)
    litert.quantize(source, tmp_path / "dyn.onnx", config, progress=False)
    ms = MsFile(tmp_path / "dyn.ms")
    dynamic = [n for n in ms.nodes if n.quant_type == QuantType.QUANT_DYNAMIC]
    assert [n.primitive for n in dynamic] == ["DynamicQuant", "MatMulFusion"]
    theirs = MsFile(DATA / "small_cnn_dynamicquant.ms")
    assert [n.primitive for n in theirs.nodes if n.quant_type == QuantType.QUANT_DYNAMIC] == \
        ["DynamicQuant", "MatMulFusion"]
    quantized, matmul = dynamic
    assert matmul.inputs[0] == quantized.outputs[0] and ms.tensors[quantized.outputs[0]].type_id == INT8
    weight = ms.tensors[matmul.inputs[1]]
    assert weight.type_id == INT8 and len(weight.quant_raw) == weight.dims[1]  # [K, N], one per output column
    assert ms.tensors[matmul.outputs[0]].type_id == FLOAT32
    image = np.ascontiguousarray(inputs["image"].transpose(0, 2, 3, 1))
    _, from_ms = run(tmp_path / "dyn.ms", image)
    from_onnx = litert.load(tmp_path / "dyn.onnx").predict([inputs["image"]])
    for a, b in zip(from_ms, from_onnx):
        lib.assert_matches(a, b, "litert's dynamic .ms vs its dynamic ONNX")


def test_dtype_of_a_widened_constant():
    """float16 constants of a float32 graph become float32 values of the IR."""
    from litert.formats import LoadOptions
    from litert.runtime.loading import read_model

    model = read_model(DATA / "small_cnn_fp16.ms", None, LoadOptions())
    consts = [v for v in model.graph.values.values() if v.const is not None and v.const.dtype.kind == "f"]
    assert consts and all(v.dtype == DType.FLOAT32 and v.const.dtype == np.float32 for v in consts)


def test_cli_fp16(tmp_path, capsys):
    from litert.cli.main import main

    model, _ = fixture_models.small_cnn()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    assert main(["convert", "--model", str(source), "--output", str(tmp_path / "h.ms"), "--fp16", "on"]) == 0
    assert FLOAT16 in const_types(tmp_path / "h.ms") and FLOAT32 not in const_types(tmp_path / "h.ms")
    assert main(["converter_lite", "--fmk=ONNX", f"--modelFile={source}", f"--outputFile={tmp_path / 'c'}",
                 "--fp16=on"]) == 0
    assert sorted(const_types(tmp_path / "c.ms")) == sorted(const_types(tmp_path / "h.ms"))
    capsys.readouterr()
    assert main(["convert", "--model", str(source), "--output", str(tmp_path / "h.onnx"), "--fp16", "on"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apply to .ms output" in err[0]
    assert not (tmp_path / "h.onnx").exists()


def test_full_quant_with_float16_constants(tmp_path):
    """``--fp16=on`` has the lowest priority: int8/int32 tensors stay, the float constants left (the logits layer,
    kept float by ``skip_quant_node``) become float16."""
    model, inputs = fixture_models.small_cnn()
    source = tmp_path / "small_cnn.onnx"
    onnx.save(model, source)
    config = _full_quant_config(tmp_path, inputs["image"], skip="Gemm_55")
    litert.quantize(source, tmp_path / "full16.ms", config, progress=False, weight_fp16=True)
    types = set(const_types(tmp_path / "full16.ms"))
    assert FLOAT16 in types and FLOAT32 not in types and {INT8, INT32} <= types
    litert.quantize(source, tmp_path / "full32.ms", config, progress=False)
    image = np.ascontiguousarray(inputs["image"].transpose(0, 2, 3, 1))
    _, half = run(tmp_path / "full16.ms", image)
    _, full = run(tmp_path / "full32.ms", image)
    for a, b in zip(half, full):
        assert np.max(np.abs(a - b)) <= 2e-3 * np.max(np.abs(b))
    with pytest.raises(litert.errors.InputError, match="apply to .ms output"):
        litert.quantize(source, tmp_path / "full16.onnx", config, progress=False, weight_fp16=True)
    assert not (tmp_path / "full16.onnx").exists()


def test_int8_tensors_moved_by_layout_transposes_keep_their_parameters(tmp_path):
    """An int8 activation that is also a graph output reaches it through the channels-last rewrite's Transpose:
    the moved tensor carries the same QuantParam (MindSpore Lite reads int8 tensors only through them)."""
    from litert.formats import LoadOptions
    from litert.quant.config import load_config
    from litert.quant.quantize import quantize_model, save_atomically
    from litert.runtime.loading import read_model

    model_proto, inputs = fixture_models.small_cnn()
    source = tmp_path / "small_cnn.onnx"
    onnx.save(model_proto, source)
    model = read_model(source, None, LoadOptions())
    quantize_model(model, load_config(_full_quant_config(tmp_path, inputs["image"])), False)
    model.graph.outputs += [n.outputs[0] for n in model.graph.nodes if n.op_type == "QuantizeLinear"]
    save_atomically(model, tmp_path / "probe.ms")
    ms = MsFile(tmp_path / "probe.ms")
    int8 = [t for t in ms.tensors if not t.is_const and t.type_id == INT8]
    assert len(int8) > 10 and all(len(t.quant_raw) == 1 for t in int8)


def test_mslite_converter_weight_fp16(tmp_path):
    import litert.mslite as mslite

    model, _ = fixture_models.small_cnn()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    converter = mslite.Converter()
    converter.save_type = mslite.ModelType.MINDIR_LITE
    converter.weight_fp16 = True
    converter.convert(mslite.FmkType.ONNX, str(source), str(tmp_path / "half"))
    types = const_types(tmp_path / "half.ms")
    assert FLOAT16 in types and FLOAT32 not in types
