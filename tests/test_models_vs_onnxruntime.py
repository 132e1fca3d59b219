"""Real CNNs and a transformer end to end, against onnxruntime.

The light zoo's shipped outputs are uniform (every weight is ConstantOfShape),
so here each weight is replaced by seeded random values and the logits are
compared with onnxruntime's.  ``conformance/test_onnx_model_cases.py`` checks
the shipped outputs too.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from helpers.modelgen import (
    LIGHT_MODELS,
    bert_encoder,
    bert_inputs,
    detection_head,
    light_input,
    mobilenet_v2,
    randomized_light_model,
    small_lstm,
    unet,
    vit,
)
from helpers.oracle import assert_close_to_scale, ort_run

import litert


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_zoo_random_weights(name, tmp_path):
    model = randomized_light_model(name, seed=1)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    feeds = light_input(model, seed=2)
    [want] = ort_run(path, feeds)
    session = litert.load(path, devices=["cpu"], threads=2)
    [got] = session.predict(feeds)
    assert_close_to_scale(got, want)
    assert np.std(want) > 0  # random weights: outputs are not uniform
    plan = session.memory_plan
    assert plan.complete and 0 < plan.peak_bytes < plan.naive_bytes


def test_mobilenet_v2_dynamic_batch(tmp_path):
    path = tmp_path / "mobilenet_v2.onnx"
    onnx.save(mobilenet_v2(seed=3, width=0.5, resolution=96, classes=100), path)
    session = litert.load(path, threads=2)
    assert session.inputs[0].shape == ("N", 3, 96, 96)
    assert any(p.op_type == "com.microsoft::FusedConv" for p in session.placement)  # BN folded, ReLU6 fused
    rng = np.random.default_rng(4)
    for batch in (1, 3):
        x = rng.standard_normal((batch, 3, 96, 96)).astype(np.float32)
        [want] = ort_run(path, {"input": x})
        [got] = session.predict([x])
        assert_close_to_scale(got, want)


def test_bert_encoder_with_mask_and_resize(tmp_path):
    path = tmp_path / "bert.onnx"
    onnx.save(bert_encoder(seed=5, layers=2, hidden=64, heads=4, seq=32), path)
    session = litert.load(path, threads=2)
    for batch in (1, 4):
        feeds = bert_inputs(batch=batch, seq=32, hidden=64, seed=6)
        [want] = ort_run(path, feeds)
        [got] = session.predict(feeds)
        assert_close_to_scale(got, want)
    session.resize({"embeddings": (2, 32, 64), "attention_mask": (2, 32)})
    assert session.memory_plan.complete
    feeds = bert_inputs(batch=2, seq=32, hidden=64, seed=7)
    [want] = ort_run(path, feeds)
    assert_close_to_scale(session.predict(feeds)[0], want)


def test_optimized_model_written_back_runs_in_onnxruntime(tmp_path):
    src, out = tmp_path / "squeezenet.onnx", tmp_path / "squeezenet.opt.onnx"
    model = randomized_light_model("squeezenet", seed=8)
    onnx.save(model, src)
    report = litert.convert(src, out)
    assert report.nodes_after <= report.nodes_before
    feeds = light_input(model, seed=9)
    assert_close_to_scale(ort_run(out, feeds)[0], ort_run(src, feeds)[0], tol=1e-4)


GENERATED = {  # small variants of the benchmark's other model classes (benchmarks/compare.py builds the full ones)
    "vit": (lambda: vit(seed=8, image=64, patch=16, hidden=64, layers=2, heads=2, classes=10), (2, 3, 64, 64)),
    "unet": (lambda: unet(seed=9, size=32, base=8, levels=3), (2, 3, 32, 32)),
    "lstm": (lambda: small_lstm(seed=10, steps=6, features=12, hidden=20), (6, 1, 12)),
    "det_head": (lambda: detection_head(seed=11, size=64, classes=5), (2, 3, 64, 64)),
}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_model_classes(name, tmp_path):
    build, shape = GENERATED[name]
    model = build()
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    feeds = {model.graph.input[0].name: np.random.default_rng(12).standard_normal(shape).astype(np.float32)}
    [want] = ort_run(path, feeds)
    [got] = litert.load(path, threads=2).predict(feeds)
    assert_close_to_scale(got, want)
    assert np.std(want) > 0
