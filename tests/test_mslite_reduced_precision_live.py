"""Reduced-precision .ms with the real MindSpore Lite 2.0.0 (``-m live``; skipped without its venv).

* litert's FULL_QUANT .ms (the digits CNN trained here, MobileNetV2-tiny) runs in MindSpore Lite, which
  computes what litert computes on the same file: the same held-out accuracy, the same predictions, logits
  within two quantisation steps of the last int8 activation;
* converter_lite 2.0 (the PyPI wheel) cannot write full quantisation at all: its calibration fails;
* converter_lite's DYNAMIC_QUANT .ms runs in litert, and litert's in MindSpore Lite, with the same outputs;
* litert's ``weight_fp16`` .ms (converter_lite's ``--fp16=on``) runs in MindSpore Lite, stores the same
  constants as float16 as converter_lite's own, and is about half the size.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import fixture_models  # noqa: E402
import ms_testlib as lib  # noqa: E402
import mslite_oracle  # noqa: E402

import litert  # noqa: E402

pytest.importorskip("sklearn")
pytest.importorskip("litert_formats")
from helpers import digits_cnn  # noqa: E402

from litert_formats.ms.msfile import MsFile  # noqa: E402

pytestmark = pytest.mark.live
_AVAILABLE, _WHY = mslite_oracle.available()
FLOAT16, FLOAT32 = 42, 43
QUANT_ALL, QUANT_DYNAMIC = 5, 6


@pytest.fixture(scope="module", autouse=True)
def _needs_mindspore_lite():
    if not _AVAILABLE:
        pytest.skip(f"MindSpore Lite 2.0.0 not available: {_WHY}")


def _full_config(folder: Path, calibration: Path, input_name: str, samples: int) -> Path:
    path = folder / "full.cfg"
    path.write_text(f"[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n\n[data_preprocess_param]\n"
                    f"calibrate_path={input_name}:{calibration}\ncalibrate_size={samples}\ninput_type=BIN\n\n"
                    "[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\nper_channel=true\n")
    return path


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits_ms")
    model = folder / "digits.onnx"
    digits_cnn.to_onnx(digits_cnn.train(), model)
    train_x, _, test_x, test_y = digits_cnn.load_digits_split()
    calibration = folder / "calib"
    calibration.mkdir()
    for index in range(100):
        train_x[index:index + 1].tofile(calibration / f"{index:03d}.bin")
    return {"folder": folder, "model": model, "calib": calibration, "test_x": test_x, "test_y": test_y}


def _last_layer_step_bound(path: Path, steps: int) -> float:
    """How far the float logits move when every int8 input of the last MatMul moves ``steps`` steps and its int8
    output (the logits before their QuantDTypeCast) ``steps`` more: steps x (input scale x the largest absolute
    row sum of its dequantised weight + output scale)."""
    ms = MsFile(path)
    last = [n for n in ms.nodes if n.primitive == "MatMulFusion"][-1]
    x, w, y = (ms.tensors[i] for i in (last.inputs[0], last.inputs[1], last.outputs[0]))
    scales = np.array([p["scale"] for p in w.quant_raw], np.float64)
    weight = w.data.astype(np.float64).reshape(w.dims)
    weight = weight * (scales[:, None] if len(scales) == weight.shape[0] else scales[None, :])
    rows = weight if last.attrs.get("transpose_b") else weight.T
    return steps * (x.quant_raw[0]["scale"] * float(np.abs(rows).sum(axis=1).max()) + y.quant_raw[0]["scale"])


def test_litert_full_quant_digits_runs_in_mindspore_lite(digits):
    out = digits["folder"] / "digits_full.ms"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        litert.quantize(digits["model"], out, _full_config(digits["folder"], digits["calib"], "image", 100),
                        input_shapes={"image": (1, 1, 8, 8)}, progress=False)
    ms = MsFile(out)
    assert sum(n.quant_type == QUANT_ALL and n.primitive != "QuantDTypeCast" for n in ms.nodes) == 4
    x = np.ascontiguousarray(digits["test_x"].transpose(0, 2, 3, 1))
    [from_msl], _ = mslite_oracle.run(out, [x])
    session = litert.load(out)
    session.resize({session.inputs[0].name: x.shape})
    [from_litert] = session.predict([x])
    y = digits["test_y"]
    acc_msl, acc_litert = np.mean(from_msl.argmax(1) == y), np.mean(from_litert.argmax(1) == y)
    bound = _last_layer_step_bound(out, 2)
    print(f"digits full quant .ms: {out.stat().st_size} bytes; accuracy MindSpore Lite {acc_msl:.4f}, litert "
          f"{acc_litert:.4f}; max logit difference {np.abs(from_msl - from_litert).max():.4f} (2-step bound "
          f"{bound:.4f}); predictions agree {np.mean(from_msl.argmax(1) == from_litert.argmax(1)):.4f}")
    assert abs(acc_msl - acc_litert) <= 0.005
    assert np.mean(from_msl.argmax(1) == from_litert.argmax(1)) >= 0.995
    assert np.abs(from_msl - from_litert).max() <= bound
    # with --fp16=on (lowest priority: nothing float is left but the biases of float layers, if any)
    half = digits["folder"] / "digits_full_fp16.ms"
    litert.quantize(digits["model"], half, _full_config(digits["folder"], digits["calib"], "image", 100),
                    input_shapes={"image": (1, 1, 8, 8)}, progress=False, weight_fp16=True)
    [half_msl], _ = mslite_oracle.run(half, [x])
    print(f"  with float16 constants: {half.stat().st_size} bytes, accuracy MindSpore Lite "
          f"{np.mean(half_msl.argmax(1) == y):.4f}")
    assert abs(np.mean(half_msl.argmax(1) == y) - acc_msl) <= 0.005


def test_litert_full_quant_mobilenet_runs_in_mindspore_lite(tmp_path):
    model, inputs = fixture_models.mobilenet_v2_tiny()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    (name, image), = inputs.items()
    calibration = tmp_path / "calib"
    calibration.mkdir()
    rng = np.random.default_rng(3)
    for index in range(16):
        rng.standard_normal(image.shape).astype(np.float32).tofile(calibration / f"{index:02d}.bin")
    out = tmp_path / "full.ms"
    litert.quantize(source, out, _full_config(tmp_path, calibration, name, 16), progress=False)
    x = np.ascontiguousarray(image.transpose(0, 2, 3, 1))
    [from_msl], _ = mslite_oracle.run(out, [x])
    [from_litert] = litert.load(out).predict([x])
    scale = float(np.abs(from_msl).max())
    print(f"mobilenet_v2_tiny full quant: max |litert - MindSpore Lite| = {np.abs(from_msl - from_litert).max():.4f} "
          f"(scale {scale:.3f}, 2-step bound {_last_layer_step_bound(out, 2):.4f})")
    assert np.abs(from_msl - from_litert).max() <= _last_layer_step_bound(out, 2)


def test_converter_lite_2_0_cannot_write_full_quantisation(digits, tmp_path):
    """What makes litert's file the full-quantisation fixture: converter_lite 2.0's calibration builds the model
    in its own runtime and fails ("ParseFromArray failed" / "Build model failed").  Fails when that changes."""
    nhwc = tmp_path / "nhwc"
    nhwc.mkdir()
    for index in range(8):
        np.ascontiguousarray(digits["test_x"][index:index + 1].transpose(0, 2, 3, 1)).tofile(nhwc / f"{index}.bin")
    config = _full_config(tmp_path, nhwc, "image", 8).read_text()
    with pytest.raises(mslite_oracle.OracleError, match="Convert model failed"):
        mslite_oracle.convert(digits["model"], tmp_path / "converter_full.ms", config=config)
    assert not (tmp_path / "converter_full.ms").exists()


@pytest.mark.parametrize("name", ["small_cnn", "bert_tiny"])
def test_converter_lite_dynamic_quant_runs_in_litert(name, tmp_path):
    build, input_format = fixture_models.FIXTURES[name]
    model, inputs = build()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    path = mslite_oracle.convert(source, tmp_path / "dyn.ms", input_format=input_format,
                                 config="[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=8\n")
    assert any(n.quant_type == QUANT_DYNAMIC for n in MsFile(path).nodes)
    feeds = list(fixture_models.to_layout(inputs, input_format).values())
    msl, _ = mslite_oracle.run(path, feeds)
    got = litert.load(path).predict(feeds)
    for a, b in zip(got, msl):
        print(f"{name} dynamic quant: max |litert - MindSpore Lite| / scale = {lib.error_over_scale(a, b):.2e}")
        lib.assert_matches(a, b, f"{name} dynamic quant")


@pytest.mark.parametrize("name", ["small_cnn", "bert_tiny"])
def test_litert_dynamic_quant_ms_runs_in_mindspore_lite(name, tmp_path):
    build, input_format = fixture_models.FIXTURES[name]
    model, inputs = build()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    config = tmp_path / "dyn.cfg"
    config.write_text("[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=8\n")
    litert.quantize(source, tmp_path / "dyn.ms", config, progress=False)
    litert.convert(source, tmp_path / "f32.ms")
    ms = MsFile(tmp_path / "dyn.ms")
    assert {n.primitive for n in ms.nodes if n.quant_type == QUANT_DYNAMIC} == {"DynamicQuant", "MatMulFusion"}
    feeds = list(fixture_models.to_layout(inputs, input_format).values())
    msl, _ = mslite_oracle.run(tmp_path / "dyn.ms", feeds)
    ours = litert.load(tmp_path / "dyn.ms").predict(feeds)
    sizes = [(tmp_path / f).stat().st_size for f in ("f32.ms", "dyn.ms")]
    for a, b in zip(ours, msl):
        print(f"{name} litert dynamic quant .ms ({sizes[1]} bytes, float32 {sizes[0]}): max |litert - MindSpore "
              f"Lite| / scale = {lib.error_over_scale(a, b):.2e}")
        lib.assert_matches(a, b, f"{name}: litert vs MindSpore Lite on litert's dynamic-quant file")


@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_v2_tiny", "bert_tiny"])
def test_litert_fp16_ms_runs_in_mindspore_lite(name, tmp_path):
    build, input_format = fixture_models.FIXTURES[name]
    model, inputs = build()
    source = tmp_path / "m.onnx"
    onnx.save(model, source)
    litert.convert(source, tmp_path / "f32.ms", input_format=input_format)
    litert.convert(source, tmp_path / "f16.ms", input_format=input_format, weight_fp16=True)
    converter = mslite_oracle.convert(source, tmp_path / "converter_f16.ms", input_format=input_format,
                                      weight_fp16=True)

    def const_types(path):
        return sorted(t.type_id for t in MsFile(path).tensors if t.is_const and t.data is not None)

    for path in (tmp_path / "f16.ms", converter):  # every float constant float16, in both writers' files
        assert FLOAT16 in const_types(path) and FLOAT32 not in const_types(path)
    feeds = list(fixture_models.to_layout(inputs, input_format).values())
    full, _ = mslite_oracle.run(tmp_path / "f32.ms", feeds)
    half, _ = mslite_oracle.run(tmp_path / "f16.ms", feeds)
    ours = litert.load(tmp_path / "f16.ms").predict(feeds)
    sizes = [(tmp_path / f).stat().st_size for f in ("f32.ms", "f16.ms")] + [converter.stat().st_size]
    print(f"{name} fp16: bytes float32 {sizes[0]}, float16 {sizes[1]} (converter_lite's {sizes[2]}); "
          f"MindSpore Lite fp16 vs fp32 max error / scale "
          f"{max(lib.error_over_scale(h, f) for h, f in zip(half, full)):.2e}")
    for h, f, o in zip(half, full, ours):
        assert lib.error_over_scale(h, f) < 5e-3  # float16 weights: about 3 significant digits
        lib.assert_matches(o, h, f"{name}: litert vs MindSpore Lite on litert's float16 file")
    assert sizes[1] < 0.8 * sizes[0]
    if name == "bert_tiny":  # mostly weights: about half the size
        assert sizes[1] < 0.55 * sizes[0]
