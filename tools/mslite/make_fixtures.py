"""Make the committed .ms fixtures with the real MindSpore Lite 2.0.0.

    python tools/mslite/make_fixtures.py [--out tests/data/ms]

For each model of :data:`fixture_models.FIXTURES`: the ONNX model the project
makes is converted by converter_lite (MindSpore Lite's Python ``Converter``,
``save_type=MINDIR_LITE``, the given ``input_format``, default optimisation)
into ``<name>.ms``, MindSpore Lite runs it on seeded inputs, and
``<name>.npz`` keeps, in the model's input order and layout:

* ``in_<i>``: the inputs, ``input_names``;
* ``msl_<i>``: MindSpore Lite's outputs, ``output_names``;
* ``ort_<i>``: onnxruntime's outputs of the source ONNX model for the same inputs.

Fixtures of ``CONFIG_FIXTURES`` (weight quantisation) have no ``msl_<i>``:
MindSpore Lite 2.0.0 fails to run them; the script checks it still does.

``manifest.json`` records the versions and settings.  Needs the venv of
``build_venv.sh`` (and onnxruntime in the project's Python).
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

DEFAULT_OUT = HERE.parents[1] / "tests" / "data" / "ms"


def ort_outputs(model: onnx.ModelProto, inputs: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def make(name: str, out_dir: Path) -> dict:
    if name in fixture_models.CONFIG_FIXTURES:
        build, input_format, config = fixture_models.CONFIG_FIXTURES[name]
    else:
        (build, input_format), config = fixture_models.FIXTURES[name], None
    model, inputs = build()
    reference = ort_outputs(model, inputs)
    feeds = fixture_models.to_layout(inputs, input_format)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{name}.onnx"
        onnx.save(model, src)
        ms_path = mslite_oracle.convert(src, out_dir / f"{name}.ms", input_format=input_format, config=config)
    ms_path.chmod(0o644)  # the converter writes files readable by their owner only
    if config:
        try:
            mslite_oracle.run(ms_path, list(feeds.values()))
            raise SystemExit(f"{name}: MindSpore Lite now runs it: store its outputs like the others")
        except mslite_oracle.OracleError as err:
            note = str(err).splitlines()[0][:200]
        arrays = {f"in_{i}": v for i, v in enumerate(feeds.values())}
        arrays.update({f"ort_{i}": v for i, v in enumerate(reference)})
        np.savez_compressed(out_dir / f"{name}.npz", input_names=np.array(list(feeds)),
                            output_names=np.array([o.name for o in model.graph.output]), **arrays)
        return {"input_format": input_format, "inputs": list(feeds), "config": config, "bytes": ms_path.stat().st_size,
                "mindspore_lite_runs_it": False, "mindspore_lite_error": note}
    outputs, names = mslite_oracle.run(ms_path, list(feeds.values()))
    arrays = {f"in_{i}": v for i, v in enumerate(feeds.values())}
    arrays.update({f"msl_{i}": v for i, v in enumerate(outputs)})
    arrays.update({f"ort_{i}": v for i, v in enumerate(reference)})
    np.savez_compressed(out_dir / f"{name}.npz", input_names=np.array(list(feeds)), output_names=np.array(names),
                        **arrays)
    worst = max(float(np.max(np.abs(o.reshape(r.shape) - r))) / (float(np.max(np.abs(r))) or 1.0)
                for o, r in zip(outputs, reference))
    return {"input_format": input_format, "inputs": list(feeds), "outputs": names,
            "bytes": ms_path.stat().st_size, "msl_vs_ort_max_error_over_scale": worst}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("names", nargs="*", default=list(fixture_models.FIXTURES) + list(fixture_models.CONFIG_FIXTURES))
    args = parser.parse_args()
    version = mslite_oracle.version_or_exit()
    args.out.mkdir(parents=True, exist_ok=True)
    old = json.loads((args.out / "manifest.json").read_text())["fixtures"] if (args.out / "manifest.json").exists() else {}
    manifest = {"mindspore_lite": version, "converter": "mindspore_lite.Converter, save_type=MINDIR_LITE, "
                "fmk_type=ONNX, optimize=general", "fixtures": old}
    for name in args.names:
        manifest["fixtures"][name] = make(name, args.out)
        print(name, manifest["fixtures"][name])
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
