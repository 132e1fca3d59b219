"""Make the committed reduced-precision .ms fixtures with the real MindSpore Lite 2.0.0.

    python tools/mslite/make_quant_fixtures.py [--out tests/data/ms_quant]

From :func:`fixture_models.small_cnn` (NHWC input, seeded):

* ``small_cnn_fp16.ms``: converter_lite with ``--fp16=on`` (float32 constants stored as float16);
* ``small_cnn_dynamicquant.ms``: converter_lite with ``quant_type=DYNAMIC_QUANT`` (DynamicQuant + QUANT_DYNAMIC
  MatMulFusion with an int8 weight);
* ``small_cnn_fullquant_litert.ms``: ``litert.quantize`` with ``quant_type=FULL_QUANT`` (calibrated on
  :data:`CALIBRATION_SAMPLES` seeded normal samples), because converter_lite 2.0 (the PyPI wheel) cannot
  write full quantisation: its calibration step fails (the error is recorded in the manifest).

MindSpore Lite 2.0.0 runs each file on the seeded input; ``<name>.npz`` keeps ``in_0`` (NHWC) and ``msl_<i>``
(MindSpore Lite's outputs) and ``ort_<i>`` (onnxruntime's float outputs of the source model).
``manifest.json`` records versions, settings, sizes and converter_lite's full-quantisation error.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fixture_models  # noqa: E402
import mslite_oracle  # noqa: E402
from make_fixtures import ort_outputs  # noqa: E402

DEFAULT_OUT = HERE.parents[1] / "tests" / "data" / "ms_quant"
CALIBRATION_SAMPLES = 16
DYNAMIC_QUANT_CONFIG = "[common_quant_param]\nquant_type=DYNAMIC_QUANT\nbit_num=8\n"


def full_quant_config(calibration: Path, input_name: str) -> str:
    """The FULL_QUANT config.  Its BIN files are NCHW for litert (which calibrates the ONNX model) and NHWC for
    converter_lite (which calibrates the converted, channels-last model)."""
    return (f"[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n\n[data_preprocess_param]\n"
            f"calibrate_path={input_name}:{calibration}\ncalibrate_size={CALIBRATION_SAMPLES}\ninput_type=BIN\n\n"
            "[full_quant_param]\nactivation_quant_method=MAX_MIN\nbias_correction=false\nper_channel=true\n")


def calibration_folder(root: Path, shape: tuple[int, ...], nhwc: bool) -> Path:
    folder = root / ("nhwc" if nhwc else "nchw")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for index in range(CALIBRATION_SAMPLES):
        sample = rng.standard_normal(shape).astype(np.float32)
        (sample.transpose(0, 2, 3, 1) if nhwc else sample).tofile(folder / f"{index:02d}.bin")
    return folder


def converter_lite_full_quant(source: Path, tmp: Path, config: str) -> str:
    """converter_lite's FULL_QUANT of ``source``: "converted", or its first three ERROR lines (file:line] message)."""
    import subprocess

    cfg = tmp / "converter_full.cfg"
    cfg.write_text(config)
    proc = subprocess.run([str(mslite_oracle.python()), str(mslite_oracle.SCRIPT), "convert", str(source),
                           str(tmp / "converter_full"), "--config-file", str(cfg)], capture_output=True, text=True,
                          timeout=mslite_oracle.TIMEOUT)
    if (tmp / "converter_full.ms").exists():
        return "converted (store it as a fixture: converter_lite now writes full quantisation)"
    errors = [line.split(" [", 1)[-1] for line in proc.stderr.splitlines() if line.startswith("[ERROR]")]
    return " / ".join(errors[:3]) or proc.stderr.strip()[-300:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    version = mslite_oracle.version_or_exit()
    import litert

    args.out.mkdir(parents=True, exist_ok=True)
    model, inputs = fixture_models.small_cnn()
    (input_name, image), = inputs.items()
    reference = ort_outputs(model, inputs)
    feed = np.ascontiguousarray(image.transpose(0, 2, 3, 1))
    fixtures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "small_cnn.onnx"
        onnx.save(model, source)
        made = {
            "small_cnn_fp16": lambda path: mslite_oracle.convert(source, path, weight_fp16=True),
            "small_cnn_dynamicquant": lambda path: mslite_oracle.convert(source, path, config=DYNAMIC_QUANT_CONFIG),
        }
        nchw = calibration_folder(Path(tmp), image.shape, nhwc=False)
        config = Path(tmp) / "full.cfg"
        config.write_text(full_quant_config(nchw, input_name))
        made["small_cnn_fullquant_litert"] = lambda path: litert.quantize(source, path, config, progress=False)
        for name, make in made.items():
            path = args.out / f"{name}.ms"
            make(path)
            path.chmod(0o644)  # the converter writes files readable by their owner only
            outputs, names = mslite_oracle.run(path, [feed])
            arrays = {"in_0": feed, **{f"msl_{i}": o for i, o in enumerate(outputs)},
                      **{f"ort_{i}": r for i, r in enumerate(reference)}}
            np.savez_compressed(args.out / f"{name}.npz", input_names=np.array([input_name]),
                                output_names=np.array(names), **arrays)
            fixtures[name] = {"bytes": path.stat().st_size, "outputs": names,
                              "msl_vs_ort_max_error": [float(np.max(np.abs(o.reshape(r.shape) - r)))
                                                       for o, r in zip(outputs, reference)]}
            print(name, fixtures[name])
        nhwc = calibration_folder(Path(tmp), image.shape, nhwc=True)
        converter_full = converter_lite_full_quant(source, Path(tmp), full_quant_config(nhwc, input_name))
    manifest = {"mindspore_lite": version, "source": "tools/mslite/fixture_models.small_cnn (NHWC input)",
                "calibration": f"{CALIBRATION_SAMPLES} seeded standard-normal samples (BIN)",
                "converter_lite_full_quant": converter_full, "fixtures": fixtures}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print("converter_lite FULL_QUANT:", converter_full)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
