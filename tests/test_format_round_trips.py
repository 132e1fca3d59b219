"""Optimised graphs (fused residual convs, folded affines) survive every writer.

The optimiser emits FusedConv with a residual input and folds channel
affines; each writer must express them. Written files are read back by
litert (and the ONNX one run by onnxruntime) and compared with the original.
"""
from __future__ import annotations

import onnx
import pytest
from helpers.modelgen import light_input, randomized_light_model
from helpers.oracle import assert_close_to_scale, ort_run

import litert


@pytest.fixture(scope="module")
def resnet(tmp_path_factory):
    path = tmp_path_factory.mktemp("resnet") / "resnet50.onnx"
    model = randomized_light_model("resnet50", seed=3)
    onnx.save(model, path)
    feeds = light_input(model, seed=4)
    [want] = ort_run(path, feeds)
    return path, feeds, want


def test_optimized_resnet_uses_residual_fusion(resnet):
    path, feeds, want = resnet
    session = litert.load(path, threads=2)
    fused = [n for n in session.model.graph.nodes if n.op_type == "FusedConv" and len(n.inputs) > 3 and n.inputs[3]]
    assert fused, "ResidualFusion did not fire on ResNet-50"
    assert_close_to_scale(session.predict(feeds)[0], want)


@pytest.mark.parametrize("suffix", [".onnx", ".mindir", ".ms"])
def test_writers_keep_fused_residuals(resnet, suffix, tmp_path):
    path, feeds, want = resnet
    out = tmp_path / f"resnet50.opt{suffix}"
    litert.convert(path, out)
    if suffix == ".onnx":
        assert_close_to_scale(ort_run(out, feeds)[0], want)
    session = litert.load(out, threads=2)
    x = next(iter(feeds.values()))
    if suffix == ".ms" and session.inputs[0].shape[-1] == 3:  # .ms defaults to NHWC inputs, like converter_lite
        x = x.transpose(0, 2, 3, 1).copy()
    [got] = session.predict([x])
    assert_close_to_scale(got.reshape(want.shape), want)
