"""Live round trips with real MindSpore (marker ``live``; deselected by default).

    bash tools/mindspore/setup_venv.sh       # once: MindSpore in its own venv
    pytest -m live plugins/formats/tests/test_mindir_live.py
    pytest -m "live or slow" ...             # adds the whole ONNX light zoo

MindSpore runs as a subprocess of its venv's python
(``$LITERT_MINDSPORE_PYTHON``, default /work/venvs/mindspore/bin/python);
the tests skip, saying so, when it is not there.
"""
from __future__ import annotations

import subprocess
import sys

import mindir_cases
import mindir_testlib as lib
import numpy as np
import onnx
import pytest

import litert  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.mindir.writer import MindirSerializer  # noqa: E402

sys.path.insert(0, str(lib.ROOT / "tests"))
from helpers.modelgen import LIGHT_MODELS, bert_encoder, bert_inputs, light_input, mobilenet_v2, randomized_light_model  # noqa: E402
from helpers.oracle import assert_close_to_scale  # noqa: E402

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not lib.mindspore_available(),
                       reason=f"MindSpore venv not found at {lib.MINDSPORE_PYTHON} "
                              "(bash tools/mindspore/setup_venv.sh, or set LITERT_MINDSPORE_PYTHON)"),
]


@pytest.mark.parametrize("name", lib.fixture_names())
def test_litert_written_fixture_runs_in_mindspore(name, tmp_path):
    """MindSpore's file -> litert IR -> litert's .mindir -> MindSpore: MindSpore's own outputs again."""
    fx = lib.fixture(name)
    out = tmp_path / f"{name}.mindir"
    MindirSerializer().save(read_model(fx.path), out)
    for case in fx.cases:
        lib.assert_all_match(lib.mindspore_run(out, list(case.inputs.values()), tmp_path), case.outputs)


@pytest.mark.parametrize("name", sorted(mindir_cases.CASES))
@pytest.mark.parametrize("level", ["general", "none"])
def test_writer_cases_run_in_mindspore(name, level, tmp_path):
    dst, feeds, want = mindir_cases.written(name, level, tmp_path)
    lib.assert_all_match(lib.mindspore_run(dst, list(feeds.values()), tmp_path), want)


def _zoo_check(model: onnx.ModelProto, feeds: dict, tmp_path, name: str) -> None:
    src, dst = tmp_path / f"{name}.onnx", tmp_path / f"{name}.mindir"
    onnx.save(model, src)
    litert.convert(src, dst)  # optimised: FusedConv/FusedGemm, folded BatchNorm
    want = litert.load(src).predict(feeds)
    got = lib.mindspore_run(dst, list(feeds.values()), tmp_path)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape
        # random weights give large logits: compare at rtol 1e-4 of the output's scale
        assert_close_to_scale(g, w, tol=1e-4)


DEFAULT_ZOO = ("squeezenet", "inception_v1")


@pytest.mark.parametrize("name", DEFAULT_ZOO)
def test_light_zoo_model_runs_in_mindspore(name, tmp_path):
    model = randomized_light_model(name, seed=1)
    _zoo_check(model, light_input(model, seed=2), tmp_path, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in LIGHT_MODELS if n not in DEFAULT_ZOO])
def test_whole_light_zoo_runs_in_mindspore(name, tmp_path):
    model = randomized_light_model(name, seed=1)
    _zoo_check(model, light_input(model, seed=2), tmp_path, name)


def test_mobilenet_v2_dynamic_batch_runs_in_mindspore(tmp_path):
    model = mobilenet_v2(seed=3, width=0.5, resolution=64, classes=50)
    feeds = {"input": np.random.default_rng(4).standard_normal((2, 3, 64, 64)).astype(np.float32)}
    _zoo_check(model, feeds, tmp_path, "mobilenet_v2")


def test_bert_encoder_runs_in_mindspore(tmp_path):
    model = bert_encoder(seed=5, layers=2, hidden=64, heads=4, seq=16)
    _zoo_check(model, bert_inputs(batch=2, seq=16, hidden=64), tmp_path, "bert")


def test_export_script_reproduces_the_fixtures(tmp_path):
    """The fixture script still exports, and litert matches what MindSpore computes today."""
    script = lib.ROOT / "tools" / "mindspore" / "export_fixtures.py"
    names = ["lenet5", "transformer_block", "lenet5_split"]
    proc = subprocess.run([str(lib.MINDSPORE_PYTHON), str(script), "--out", str(tmp_path), *names],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in names:
        path = tmp_path / (f"{name}_graph.mindir" if name.endswith("_split") else f"{name}.mindir")
        data = np.load(tmp_path / f"{name}.npz")
        session = litert.load(path)
        feeds = {k.split(":", 1)[1]: data[k] for k in data.files if k.startswith("input:")}
        for i, got in enumerate(session.predict(feeds)):
            lib.assert_matches(got, data[f"output:{i}"])
