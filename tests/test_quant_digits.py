"""Post-training quantisation of a CNN trained here on scikit-learn's digits, scored on held-out digits.

litert's weight, full and dynamic quantisation against the float model and against onnxruntime's own
static/dynamic quantisation of the same model on the same calibration samples; onnxruntime runs the
QDQ files litert writes.  Calibration errors are one clear error each and leave nothing behind.
"""
from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
ort = pytest.importorskip("onnxruntime")

from helpers import digits_cnn  # noqa: E402

import litert  # noqa: E402
from litert.errors import CalibrationError  # noqa: E402

CALIBRATION_SAMPLES = 100


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    params = digits_cnn.train()
    model = folder / "digits.onnx"
    digits_cnn.to_onnx(params, model)
    train_x, _, test_x, test_y = digits_cnn.load_digits_split()
    calib = folder / "calib"
    calib.mkdir()
    for index in range(CALIBRATION_SAMPLES):
        train_x[index:index + 1].tofile(calib / f"{index:03d}.bin")
    return {"folder": folder, "model": model, "calib": calib, "calib_x": train_x[:CALIBRATION_SAMPLES],
            "test_x": test_x, "test_y": test_y}


def _config(folder, name, text):
    path = folder / f"{name}.cfg"
    path.write_text(text)
    return path


def _full_config(digits, method="MAX_MIN", extra=""):
    return _config(digits["folder"], f"full_{method}", f"""\
[common_quant_param]
quant_type=FULL_QUANT
bit_num=8
{extra}
[data_preprocess_param]
calibrate_path=image:{digits["calib"]}
calibrate_size={CALIBRATION_SAMPLES}
input_type=BIN

[full_quant_param]
activation_quant_method={method}
bias_correction=false
per_channel=true
""")


WEIGHT = """\
[common_quant_param]
quant_type=WEIGHT_QUANT
bit_num=8
min_quant_weight_size=0
min_quant_weight_channel=0

[weight_quant_param]
per_channel=true
bias_correction=false
"""

DYNAMIC = "[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=8\n"


def _litert_logits(path, x):
    session = litert.load(path, input_shapes={"image": x.shape})
    return session.predict([x])[0]


def _ort_logits(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


def _accuracy(logits, labels) -> float:
    return float((logits.argmax(1) == labels).mean() * 100)


def _quantise(digits, name, config):
    out = digits["folder"] / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every key of these configs has an effect
        litert.quantize(digits["model"], out, config, progress=False)
    return out


def _ort_static(digits, fmt="QDQ"):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter([{"image": digits["calib_x"][i:i + 1]} for i in range(CALIBRATION_SAMPLES)])

        def get_next(self):
            return next(self.samples, None)

    out = digits["folder"] / f"ort_static_{fmt}.onnx"
    quantize_static(str(digits["model"]), str(out), Reader(), quant_format=QuantFormat[fmt], per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return out


def _ort_dynamic(digits):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = digits["folder"] / "ort_dynamic.onnx"
    quantize_dynamic(str(digits["model"]), str(out), per_channel=True, weight_type=QuantType.QInt8)
    return out


def test_quantised_accuracy_against_float_and_onnxruntime(digits):
    x, y = digits["test_x"], digits["test_y"]
    float_acc = _accuracy(_litert_logits(digits["model"], x), y)
    assert float_acc >= 95.0, "the trained float model itself must be good"

    weight = _quantise(digits, "weight", _config(digits["folder"], "weight", WEIGHT))
    full = _quantise(digits, "full", _full_config(digits))
    dynamic = _quantise(digits, "dynamic", _config(digits["folder"], "dynamic", DYNAMIC))
    acc = {name: _accuracy(_litert_logits(path, x), y) for name, path in
           (("weight", weight), ("full", full), ("dynamic", dynamic))}
    ort_acc = {"static": _accuracy(_ort_logits(_ort_static(digits), x), y),
               "dynamic": _accuracy(_ort_logits(_ort_dynamic(digits), x), y)}
    print(f"\ndigits CNN top-1 on {len(y)} held-out images: float {float_acc:.2f}, litert weight {acc['weight']:.2f}, "
          f"full {acc['full']:.2f}, dynamic {acc['dynamic']:.2f}; onnxruntime static {ort_acc['static']:.2f}, "
          f"dynamic {ort_acc['dynamic']:.2f}")
    assert float_acc - acc["weight"] <= 0.2
    assert float_acc - acc["full"] <= 0.5
    assert float_acc - acc["dynamic"] <= 0.5
    assert acc["full"] >= ort_acc["static"]
    assert acc["dynamic"] >= ort_acc["dynamic"]
    # onnxruntime runs litert's QDQ files and agrees with litert on them
    for path in (weight, full, dynamic):
        ours, theirs = _litert_logits(path, x), _ort_logits(path, x)
        assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.995
        np.testing.assert_allclose(ours, theirs, atol=0.05 * np.abs(theirs).max())
    # int8 weights: the file is several times smaller than the float one
    assert digits["model"].stat().st_size / full.stat().st_size >= 2.5


@pytest.mark.parametrize("source", ["litert", "onnxruntime"])
def test_full_quant_qdq_runs_on_integer_kernels_with_int8_weights(digits, source):
    """The QDQ groups fold into QLinearConv/QGemm: int8 weights stay int8 in memory; outputs as onnxruntime's."""
    path = _quantise(digits, "full", _full_config(digits)) if source == "litert" else _ort_static(digits)
    x = digits["test_x"]
    session = litert.load(path, input_shapes={"image": x.shape})
    ops = [node.op_type for node in session.model.graph.nodes]
    assert ops.count("QLinearConv") == 2 and "QGemm" in ops and "Conv" not in ops and "FusedConv" not in ops
    float_bytes = litert.load(digits["model"]).model.graph.weight_bytes()
    assert session.model.graph.weight_bytes() < 0.4 * float_bytes
    ours, theirs = session.predict([x])[0], _ort_logits(path, x)
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.995
    np.testing.assert_allclose(ours, theirs, atol=1e-3 * np.abs(theirs).max())


def test_onnxruntime_qoperator_model_runs_as_in_onnxruntime(digits):
    """QLinearConv and com.microsoft QGemm from onnxruntime's QOperator quantiser: litert's integer kernels."""
    path = _ort_static(digits, "QOperator")
    x = digits["test_x"]
    ours, theirs = _litert_logits(path, x), _ort_logits(path, x)
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.995
    np.testing.assert_allclose(ours, theirs, atol=0.02 * np.abs(theirs).max())


def test_weight_quant_stores_narrow_range_ints(digits):
    import onnx
    from onnx import numpy_helper

    config = _config(digits["folder"], "weight4", WEIGHT.replace("bit_num=8", "bit_num=4"))
    out = _quantise(digits, "weight4", config)
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    quantised = [v for k, v in inits.items() if k.endswith("_quantized")]
    assert len(quantised) == 4 and all(v.dtype == np.int8 for v in quantised)
    assert all(v.min() >= -7 and v.max() <= 7 for v in quantised)
    assert not any(k in inits for k in ("w0", "w1", "w2", "w3")), "float weights are dropped"


@pytest.mark.parametrize("method", ["KL", "REMOVAL_OUTLIER"])
def test_histogram_methods_run_and_narrow_or_keep_ranges(digits, method):
    out = _quantise(digits, f"full_{method}", _full_config(digits, method))
    x, y = digits["test_x"], digits["test_y"]
    float_acc = _accuracy(_litert_logits(digits["model"], x), y)
    assert float_acc - _accuracy(_litert_logits(out, x), y) <= 0.5
    np.testing.assert_allclose(_litert_logits(out, x), _ort_logits(out, x), atol=0.05 * 40)


def test_image_calibration_matches_bin_calibration(digits, tmp_path):
    """8x8 grey PNGs with normalize_std=[16] give the same samples as the float BIN files, so the same scales."""
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for index in range(20):
        pixels = np.rint(digits["calib_x"][index, 0] * 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(images / f"{index:03d}.png")
    bins = tmp_path / "bins"
    bins.mkdir()
    for index in range(20):
        digits["calib_x"][index:index + 1].tofile(bins / f"{index:03d}.bin")
    base = ("[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\ndebug_info_save_path={debug}\n"
            "[full_quant_param]\nbias_correction=false\n[data_preprocess_param]\ncalibrate_size=20\n")
    image_cfg = _config(tmp_path, "image", base.format(debug=tmp_path / "dbg_image") + (
        f"calibrate_path=image:{images}\ninput_type=IMAGE\nimage_to_format=GRAY\nnormalize_mean=[0]\n"
        "normalize_std=[16]\n"))
    bin_cfg = _config(tmp_path, "bin", base.format(debug=tmp_path / "dbg_bin") + (
        f"calibrate_path=image:{bins}\ninput_type=BIN\n"))
    for cfg, name in ((image_cfg, "image"), (bin_cfg, "bin")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            litert.quantize(digits["model"], tmp_path / f"{name}.onnx", cfg, progress=False)
    tables = {}
    for name in ("image", "bin"):
        with open(tmp_path / f"dbg_{name}" / "quant_param.csv", newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert list(rows[0]) == ["NodeName", "NodeType", "TensorName", "ElementsNum", "Dims", "Scale", "ZeroPoint",
                                 "Bits", "CorrectionVar", "CorrectionMean"]
        tables[name] = {(r["NodeName"], r["TensorName"]): (r["Scale"], r["ZeroPoint"]) for r in rows}
    assert tables["image"] == tables["bin"]
    assert ("conv0", "image") in tables["bin"] and ("conv1", "w1") in tables["bin"]


def _calibration_config(tmp_path, folder, input_type="BIN"):
    return _config(tmp_path, "calib", "[common_quant_param]\nquant_type=FULL_QUANT\n[full_quant_param]\n"
                   f"bias_correction=false\n[data_preprocess_param]\ncalibrate_path=image:{folder}\n"
                   f"calibrate_size=10\ninput_type={input_type}\n")


def _bad_image_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "big"
    folder.mkdir()
    Image.new("L", (10, 10)).save(folder / "a.png")
    return folder, "image 10x10 with 3 channel(s) does not fit input image [1, 1, 8, 8]"


def _short_bin_folder(tmp_path):
    folder = tmp_path / "short"
    folder.mkdir()
    np.zeros(63, np.float32).tofile(folder / "a.bin")
    return folder, "a.bin: 252 bytes, but input image [1, 1, 8, 8] of float32 takes 256"


@pytest.mark.parametrize("make, input_type", [
    (lambda tmp: (tmp / "absent", "image:" + str(tmp / "absent") + ": no such folder"), "BIN"),
    (lambda tmp: ((tmp / "empty").mkdir() or tmp / "empty", "the folder is empty"), "BIN"),
    (_short_bin_folder, "BIN"),
    (_bad_image_folder, "IMAGE"),
])
def test_calibration_errors_are_one_line_and_write_nothing(digits, tmp_path, make, input_type):
    folder, expected = make(tmp_path)
    out = tmp_path / "out.onnx"
    with pytest.raises(CalibrationError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        litert.quantize(digits["model"], out, _calibration_config(tmp_path, folder, input_type), progress=False)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.suffix == ".onnx"]


def test_weight_quant_ms_is_written_as_converter_lite_does(digits):
    """int8 weights with one QuantParam per output channel under QUANT_WEIGHT nodes (the layout of
    converter_lite's weight-quantised fixture, see plugins/formats/tests/test_ms_reader.py); litert reads
    it back and predicts as from the weight-quantised ONNX."""
    pytest.importorskip("litert_formats")
    from litert_formats.ms.msfile import MsFile

    config = _config(digits["folder"], "weight", WEIGHT)
    out = digits["folder"] / "weight.ms"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        litert.quantize(digits["model"], out, config, progress=False)
    ms = MsFile(str(out))
    quantised = [t for t in ms.tensors if t.is_const and t.data.dtype == np.int8]
    assert len(quantised) == 4 and all(len(t.quant_raw) == t.dims[0] for t in quantised)
    assert sum(n.quant_type == 4 for n in ms.nodes) == 4
    x = digits["test_x"]
    session = litert.load(out)
    session.resize({session.inputs[0].name: (len(x), 8, 8, 1)})
    from_ms = session.predict([np.ascontiguousarray(x.transpose(0, 2, 3, 1))])[0]
    from_onnx = _litert_logits(_quantise(digits, "weight", config), x)
    np.testing.assert_allclose(from_ms, from_onnx, rtol=1e-4, atol=1e-4)


def test_full_quant_ms_is_written_as_mindspore_lite_lays_it_out(digits):
    """int8 activations with their QuantParam, QUANT_ALL Conv2DFusion / MatMulFusion between QuantDTypeCast
    nodes where they meet float layers (the Flatten, the graph's input and its output: the logits layer is int8
    too, as converter_lite and onnxruntime's quantiser make it); litert reads it back on
    integer kernels and predicts as from its QDQ ONNX file (the same int8 arithmetic, channels-last).
    MindSpore Lite 2.0 runs this file: tests/test_mslite_reduced_precision_live.py."""
    pytest.importorskip("litert_formats")
    from litert_formats.ms.msfile import MsFile

    config = _full_config(digits)
    out = digits["folder"] / "full.ms"
    litert.quantize(digits["model"], out, config, progress=False)
    ms = MsFile(str(out))
    integer = [n for n in ms.nodes if n.quant_type == 5 and n.primitive != "QuantDTypeCast"]
    assert sorted(n.primitive for n in integer) == ["Conv2DFusion", "Conv2DFusion", "MatMulFusion", "MatMulFusion"]
    casts = [n for n in ms.nodes if n.primitive == "QuantDTypeCast"]
    assert casts[0].inputs == ms.inputs and len(casts) == 4  # input; around the Flatten; the int8 logits to float
    assert casts[-1].outputs == ms.outputs
    from litert.passes import PassContext
    from litert.passes.qdq import QdqFolding
    from litert.runtime.loading import read_model

    read = read_model(out)
    QdqFolding().run(read, PassContext())  # what the CPU backend does: integer kernels, int8 weights in memory
    assert sorted(n.op_type for n in read.graph.nodes if n.op_type in ("QLinearConv", "QGemm")) == \
        ["QGemm", "QGemm", "QLinearConv", "QLinearConv"]
    x = digits["test_x"]
    session = litert.load(out)
    session.resize({session.inputs[0].name: (len(x), 8, 8, 1)})
    from_ms = session.predict([np.ascontiguousarray(x.transpose(0, 2, 3, 1))])[0]
    from_onnx = _litert_logits(_quantise(digits, "full_for_ms", config), x)
    assert np.mean(from_ms.argmax(1) == from_onnx.argmax(1)) >= 0.995
    assert abs(np.mean(from_ms.argmax(1) == digits["test_y"]) - np.mean(from_onnx.argmax(1) == digits["test_y"])) \
        <= 0.005
    float_ms = digits["folder"] / "float_for_size.ms"
    litert.convert(digits["model"], float_ms, input_shapes={"image": (1, 1, 8, 8)})
    assert out.stat().st_size * 2 < float_ms.stat().st_size  # int8 weights; QuantParams and the graph


def test_dynamic_quant_ms_predicts_as_the_onnx(digits):
    """DynamicQuant + QUANT_DYNAMIC MatMulFusion (converter_lite's layout) for the two Gemms; the convolutions stay
    float, as in the ONNX file."""
    pytest.importorskip("litert_formats")
    from litert_formats.ms.msfile import MsFile

    config = _config(digits["folder"], "dynamic_for_ms", DYNAMIC)
    out = digits["folder"] / "dynamic.ms"
    litert.quantize(digits["model"], out, config, progress=False)
    ms = MsFile(str(out))
    assert sorted(n.primitive for n in ms.nodes if n.quant_type == 6) == ["DynamicQuant"] * 2 + ["MatMulFusion"] * 2
    x = digits["test_x"]
    session = litert.load(out)
    session.resize({session.inputs[0].name: (len(x), 8, 8, 1)})
    from_ms = session.predict([np.ascontiguousarray(x.transpose(0, 2, 3, 1))])[0]
    from_onnx = _litert_logits(_quantise(digits, "dynamic_for_ms", config), x)
    # the .ms computes its convolutions channels-last, so an activation within float32 rounding of a rounding
    # boundary of the run-time int8 grid can land one step away (1 of 540 rows here, 0.06 on logits of 11)
    same = np.all(np.isclose(from_ms, from_onnx, rtol=1e-4, atol=1e-4), axis=1)
    assert np.mean(same) >= 0.99
    assert np.mean(from_ms.argmax(1) == from_onnx.argmax(1)) >= 0.995


def test_quant_report_ranks_layers_and_proposes_skips(digits):
    import subprocess
    import sys

    config = _full_config(digits)
    command = [sys.executable, "-m", "litert.cli.main", "quant-report", "--model", str(digits["model"]),
               "--config-file", str(config)]
    run = subprocess.run(command, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    rows = [line.split() for line in lines[1:5]]
    assert sorted(row[1] for row in rows) == ["conv0", "conv1", "fc2", "fc3"]
    sqnr = [float(row[4]) for row in rows]
    assert sqnr == sorted(sqnr) and all(s > 25 for s in sqnr), "8-bit layers of a small CNN keep > 25 dB"
    assert all(0.99 < float(row[3]) <= 1.0 for row in rows)
    assert lines[-1].startswith("no layer is below 30 dB")
    strict = subprocess.run(command + ["--min-sqnr", "200", "--propose", "2"], capture_output=True, text=True)
    assert strict.stdout.strip().splitlines()[-1] == \
        f"proposal ([common_quant_param]): skip_quant_node={rows[0][1]},{rows[1][1]}"
