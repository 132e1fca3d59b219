"""Live round trips with the real MindSpore Lite 2.0.0 (``-m live``; skipped without its venv).

Both directions, against onnxruntime's outputs of the same ONNX model:

* converter_lite's .ms run in litert;
* litert's .ms (NHWC and NCHW inputs) run in MindSpore Lite.

The fast group covers the fixture models; the ``slow`` group is the issue's
matrix (the light zoo with random weights, MobileNetV2, the BERT-style
encoder, an LSTM).  Every case appends a row to the report
(``$LITERT_MS_LIVE_REPORT``, default ``/tmp/litert_ms_live.md``).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import fixture_models  # noqa: E402
import ms_testlib as lib  # noqa: E402
import mslite_oracle  # noqa: E402

import litert  # noqa: E402
from litert.convert import optimize_model  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.ms.writer import MsSerializer  # noqa: E402

pytestmark = pytest.mark.live
ort = pytest.importorskip("onnxruntime")
_AVAILABLE, _WHY = mslite_oracle.available()
REPORT = Path(os.environ.get("LITERT_MS_LIVE_REPORT", "/tmp/litert_ms_live.md"))


@pytest.fixture(scope="module", autouse=True)
def _needs_mindspore_lite():
    if not _AVAILABLE:
        pytest.skip(f"MindSpore Lite 2.0.0 not available: {_WHY}")
    rows_file = REPORT.with_suffix(".jsonl")
    yield
    if rows_file.exists():
        rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
        REPORT.write_text(_table(rows))


def _table(rows: list[dict]) -> str:
    lines = ["| model | direction | input | outputs | max error / scale | within rtol 1e-4, atol 1e-5*scale |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['direction']} | {r['input_format']} | {r['outputs']} | "
                     f"{r['error']:.2e} | {'yes' if r['ok'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def _record(model: str, direction: str, input_format: str, got: list, want: list) -> None:
    errors = [lib.error_over_scale(g, w) for g, w in zip(got, want)]
    ok = True
    for g, w in zip(got, want):
        try:
            lib.assert_matches(g, w)
        except AssertionError:
            ok = False
    row = {"model": model, "direction": direction, "input_format": input_format, "outputs": len(want),
           "error": max(errors), "ok": ok, "time": time.strftime("%Y-%m-%d %H:%M")}
    with open(REPORT.with_suffix(".jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    assert ok, f"{model} {direction} ({input_format}): max error/scale {max(errors):.3g}"


def _reference(model: onnx.ModelProto, path: Path, inputs: dict) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, inputs)


def _both_directions(name: str, model: onnx.ModelProto, inputs: dict, tmp_path: Path, formats=("NHWC", "NCHW")):
    src = tmp_path / f"{name}.onnx"
    onnx.save(model, src)
    want = _reference(model, src, inputs)
    # converter_lite -> litert
    theirs = mslite_oracle.convert(src, tmp_path / f"{name}.msl.ms")
    feeds = fixture_models.to_layout(inputs, "NHWC")
    got = litert.load(theirs, threads=2).predict(list(feeds.values()))
    _record(name, "converter_lite .ms -> litert", "NHWC", got, want)
    del got
    # litert -> MindSpore Lite
    ir = read_model(src)
    optimize_model(ir)
    for fmt in formats:
        ours = tmp_path / f"{name}.litert.{fmt}.ms"
        MsSerializer(fmt).save(ir, ours)
        outputs, _ = mslite_oracle.run(ours, list(fixture_models.to_layout(inputs, fmt).values()))
        _record(name, "litert .ms -> MindSpore Lite", fmt, outputs, want)
        ours.unlink()
    theirs.unlink()


@pytest.mark.parametrize("name", list(dict.fromkeys(n for n in fixture_models.FIXTURES if n != "small_cnn_nchw")))
def test_fixture_models_both_ways(name, tmp_path):
    model, inputs = fixture_models.FIXTURES[name][0]()
    _both_directions(name, model, inputs, tmp_path)


def test_committed_fixtures_still_match_mindspore_lite():
    """MindSpore Lite re-run on the committed fixtures gives the outputs stored with them."""
    for name in lib.fixture_names():
        path, inputs, msl, _, _ = lib.fixture(name)
        outputs, _ = mslite_oracle.run(path, inputs)
        for got, want in zip(outputs, msl):
            lib.assert_matches(got, want, name)


# ---------------------------------------------------------------- the issue's matrix (slow)


def _light(name: str):
    from helpers.modelgen import light_input, randomized_light_model

    model = randomized_light_model(name, seed=0)
    return model, light_input(model, seed=1)


def _zoo():
    from helpers.modelgen import LIGHT_MODELS, bert_encoder, bert_inputs, mobilenet_v2

    cases = {f"light_{n}": (lambda n=n: _light(n)) for n in LIGHT_MODELS}
    cases["mobilenet_v2"] = lambda: (mobilenet_v2(seed=0), {
        "input": np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)})
    cases["bert_encoder"] = lambda: (bert_encoder(seed=0), bert_inputs(batch=1, seed=1))
    cases["lstm_64"] = lambda: fixture_models.lstm_model(steps=16, batch=2, features=32, hidden=64)
    return cases


ZOO = _zoo()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ZOO))
def test_issue_matrix_both_ways(name, tmp_path):
    model, inputs = ZOO[name]()
    _both_directions(name, model, inputs, tmp_path, formats=("NHWC",))
