"""The light model zoo shipped inside the onnx package (opset 9 CNNs).

Their weights come from ConstantOfShape nodes (so the files are small).  All
of them must load and round-trip; a few, with those nodes replaced by random
initializers, must compute on onnxruntime what the originals compute.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from formats_testlib import load, onnx_data_dir, roundtrip, run_ort, run_written
from onnx import numpy_helper

from litert.formats import LoadOptions
from litert_formats.onnx import OnnxFrontend

LIGHT = sorted((onnx_data_dir() / "light").glob("light_*.onnx"))


def randomize(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """Replace ConstantOfShape weights by random initializers (1-D ones positive: BN variances)."""
    rng = np.random.default_rng(seed)
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    keep = []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in consts:
            shape = tuple(int(d) for d in consts[node.input[0]])
            fan_in = max(1, int(np.prod(shape[1:])))
            arr = rng.standard_normal(shape) / np.sqrt(fan_in)
            if len(shape) == 1:
                arr = np.abs(arr) + 0.5
            graph.initializer.append(numpy_helper.from_array(arr.astype(np.float32), node.output[0]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return model


def test_light_zoo_present():
    assert len(LIGHT) >= 5


@pytest.mark.parametrize("path", LIGHT, ids=[p.stem for p in LIGHT])
def test_light_model_roundtrips(path, tmp_path):
    ir, out = roundtrip(path, tmp_path)
    assert ir.metadata["source_opset"] == "9" and len(ir.graph.inputs) == 1
    again = OnnxFrontend().load(out, LoadOptions())
    assert [n.op_type for n in again.graph.nodes] == [n.op_type for n in ir.graph.nodes]
    assert again.graph.inputs == ir.graph.inputs and again.graph.outputs == ir.graph.outputs
    for name, value in ir.graph.constants().items():
        np.testing.assert_array_equal(again.graph.values[name].const, value.const)
    # intermediate shapes are known (shape inference ran through ConstantOfShape weights)
    known = [v for v in ir.graph.values.values() if not v.is_const and v.is_static]
    assert len(known) >= len(ir.graph.nodes) // 2


@pytest.mark.parametrize("stem", ["light_squeezenet", "light_inception_v2", "light_shufflenet"])
def test_light_model_matches_onnxruntime(stem, tmp_path):
    model = randomize(onnx.load(str(onnx_data_dir() / "light" / f"{stem}.onnx")))
    ir, out = roundtrip(model, tmp_path)
    name = ir.graph.inputs[0]
    x = np.random.default_rng(1).random(ir.graph.values[name].shape).astype(np.float32)
    expected = run_ort(model, {name: x})
    got = run_written(out, {name: x})
    assert np.isfinite(expected[0]).all() and expected[0].std() > 0
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-4, atol=1e-5)


def test_light_model_input_shape_override(tmp_path):
    ir = load(onnx_data_dir() / "light" / "light_squeezenet.onnx", tmp_path, input_shapes={"data_0": (2, 3, 224, 224)})
    assert ir.graph.values["data_0"].shape == (2, 3, 224, 224)
    assert ir.graph.values[ir.graph.outputs[0]].shape[0] == 2
