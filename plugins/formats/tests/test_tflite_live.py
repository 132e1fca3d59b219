"""TFLite -> litert's .ms -> the real MindSpore Lite 2.0.0 (``-m live``; skipped without its venv).

For TensorFlow-made float models: litert converts the .tflite to .ms,
MindSpore Lite runs it, and its outputs must match LiteRT's on the .tflite
(within 1e-4 of each output's scale). converter_lite 2.0 converts the same
.tflite itself; both files must hold the same convolutions and pooling
(the primitive histograms are printed side by side). Not covered: models with
TRANSPOSE_CONV or resizing (the .ms writer has no ConvTranspose/Resize yet)
and WHILE (no control flow in the .ms writer); the detection head, whose .ms
has converter_lite's histogram but which MindSpore Lite 2.0 refuses to build (not
investigated yet).
"""
from __future__ import annotations

import sys

import pytest
from tflite_testlib import ROOT, max_error, tf_models

sys.path.insert(0, str(ROOT / "tools" / "mslite"))
import mslite_oracle  # noqa: E402

import litert  # noqa: E402
from litert_formats.ms.msfile import MsFile  # noqa: E402
from litert_formats.ms.reader import primitive_histogram  # noqa: E402

pytestmark = pytest.mark.live
_AVAILABLE, _WHY = mslite_oracle.available()
STRUCTURAL = ("Conv2DFusion", "MaxPoolFusion", "AvgPoolFusion")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    if not _AVAILABLE:
        pytest.skip(_WHY)
    return tmp_path_factory.mktemp("tflite_live")


def _case(model_dir, name):
    source = tf_models.make(name, model_dir)
    ours = model_dir / f"{name}.ms"
    litert.convert(source, ours, fmk="tflite")
    feeds = tf_models.random_inputs(source, 0)
    want = tf_models.litert_interpreter_run(source, feeds)
    got, _ = mslite_oracle.run(ours, feeds)
    errors = [max_error(w, g) for w, g in zip(want, got)]
    assert len(got) == len(want) and max(errors) <= 1e-4, errors
    try:
        theirs = mslite_oracle.convert(source, model_dir / f"{name}_converter_lite.ms", fmk="TFLITE")
    except mslite_oracle.OracleError as err:  # converter_lite 2.0's own limits (e.g. TFLite's GELU)
        print(f"{name}: max error {max(errors):.3g}; converter_lite 2.0 refuses the .tflite: {str(err)[-120:]}")
        return
    hist_ours, hist_theirs = primitive_histogram(MsFile(ours)), primitive_histogram(MsFile(theirs))
    print(f"{name}: max error {max(errors):.3g}; litert {dict(hist_ours)}; converter_lite {dict(hist_theirs)}")
    for prim in STRUCTURAL:
        assert hist_ours[prim] == hist_theirs[prim], (prim, hist_ours, hist_theirs)


@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_v2"])
def test_tflite_to_ms_runs_in_mindspore_lite(model_dir, name):
    _case(model_dir, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "efficientnet_b0", "lstm", "transformer_encoder"])
def test_tflite_to_ms_runs_in_mindspore_lite_large(model_dir, name):
    _case(model_dir, name)
