"""Ray Data batch inference with ``litert.ray.Predictor`` (``examples/ray_batch_inference.py``).

The Ray run is marked slow (a local Ray instance starts; ~1 minute); the
predictor itself is also tested without Ray in the default run.  2,000 images through
``map_batches`` with 1 and then 2 actors must give exactly the outputs of
single-process litert; the rows/s of both runs are printed and written to
``$LITERT_RAY_REPORT`` (default ``/tmp/litert_ray_batch.json``).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests"))

IMAGES = 2000
RESOLUTION = 64
REPORT = Path(os.environ.get("LITERT_RAY_REPORT", "/tmp/litert_ray_batch.json"))


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install litert[ray])")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"LITERT_PLUGINS": os.environ.get("LITERT_PLUGINS", "")}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A MobileNetV2 (width 0.5, 64x64) as an NHWC .ms, written by litert's converter."""
    import onnx
    from helpers import modelgen

    import litert.mslite as mslite

    tmp = tmp_path_factory.mktemp("ray")
    onnx.save(modelgen.mobilenet_v2(width=0.5, resolution=RESOLUTION, classes=100), tmp / "mnv2.onnx")
    converter = mslite.Converter()
    converter.save_type = mslite.ModelType.MINDIR_LITE
    converter.input_shape = {"input": [1, 3, RESOLUTION, RESOLUTION]}
    converter.convert(mslite.FmkType.ONNX, str(tmp / "mnv2.onnx"), str(tmp / "mnv2"))
    return str(tmp / "mnv2.ms")


def test_predictor_without_ray():
    """The callable class alone (default run): layout, row-by-row runs, kept columns, a clear error."""
    import litert
    from litert.errors import InputError
    from litert.ray import Predictor

    nhwc = ROOT / "tests" / "data" / "ms" / "small_cnn.ms"
    nchw = ROOT / "tests" / "data" / "ms" / "small_cnn_nchw.ms"
    images = np.random.default_rng(1).random((5, 32, 32, 3), dtype=np.float32)
    want = np.concatenate([litert.load(nhwc).predict([images[i:i + 1]])[1] for i in range(5)])
    for path in (nhwc, nchw):  # NHWC images go into an NCHW model transposed
        predictor = Predictor(path, keep_columns=["id"])
        out = predictor({"image": images, "id": np.arange(5)})
        assert sorted(out) == ["gemm_54", "id", "softmax_56"]
        np.testing.assert_allclose(out["softmax_56"], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["id"], np.arange(5))
    with pytest.raises(InputError, match="no column 'pixels'"):
        Predictor(nhwc, input_column="pixels")({"image": images})
    with pytest.raises(InputError, match="one input"):
        Predictor(ROOT / "tests" / "data" / "ms" / "bert_tiny.ms")


@pytest.mark.slow
def test_map_batches_matches_single_process_litert(ray_cluster, model):
    import ray_batch_inference as example

    import litert

    images = example.synthetic_images(IMAGES, (RESOLUTION, RESOLUTION, 3))
    session = litert.load(model, threads=1)
    names = [o.name for o in session.outputs]
    reference = [session.predict([images[i:i + 1]]) for i in range(IMAGES)]
    want = {name: np.concatenate([r[k] for r in reference]) for k, name in enumerate(names)}
    rates = {}
    for actors in (1, 2):
        got, rates[actors] = example.run_in_memory(model, images, actors)
        assert sorted(got) == sorted(names)
        for name in names:
            assert got[name].shape == want[name].shape
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{actors} actor(s), output {name}")
    figures = {"images": IMAGES, "model": f"MobileNetV2 0.5 {RESOLUTION}x{RESOLUTION} .ms",
               "rows_per_s": {str(k): v for k, v in rates.items()}, "speedup_2_vs_1": rates[2] / rates[1]}
    REPORT.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"Ray map_batches, {IMAGES} images: 1 actor {rates[1]:.1f} rows/s, 2 actors {rates[2]:.1f} rows/s")
