"""Reading .ms files made by MindSpore Lite 2.0.0's converter (committed fixtures, no MindSpore Lite needed).

Each fixture was converted by converter_lite from an ONNX model the project
makes (tools/mslite/make_fixtures.py); litert must reproduce the outputs
MindSpore Lite computed for it, and onnxruntime's for the source model.
"""
from __future__ import annotations

import mmap
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import ms_testlib as lib  # noqa: E402

import litert  # noqa: E402
from litert.ir import Layout  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.ms.msfile import MsFile  # noqa: E402
from litert_formats.ms.reader import MsFrontend, primitive_histogram  # noqa: E402

NAMES = lib.fixture_names()


@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_mindspore_lite(name):
    path, inputs, msl, ort, names = lib.fixture(name)
    session = litert.load(path)
    assert [o for o in session.model.graph.outputs] == names
    outputs = session.predict(inputs)
    for got, want, want_ort, out in zip(outputs, msl, ort, names):
        lib.assert_matches(got, want, f"{name}:{out} vs MindSpore Lite")
        lib.assert_matches(got, want_ort, f"{name}:{out} vs onnxruntime")


@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_without_optimisation(name):
    path, inputs, msl, _, names = lib.fixture(name)
    outputs = litert.load(path, optimize="none").predict(inputs)
    for got, want, out in zip(outputs, msl, names):
        lib.assert_matches(got, want, f"{name}:{out}")


def test_primitives_seen_in_the_fixtures():
    """The primitives converter_lite emits for these models, all read."""
    seen = set()
    for name in NAMES:
        seen |= set(primitive_histogram(MsFile(lib.DATA / f"{name}.ms")))
    assert {"Conv2DFusion", "MaxPoolFusion", "AvgPoolFusion", "Activation", "AddFusion", "MatMulFusion", "Concat",
            "LRN", "Transpose", "Flatten", "Softmax", "LayerNormFusion", "Reshape", "DivFusion", "SubFusion",
            "MulFusion", "Unsqueeze", "LSTM", "StridedSlice", "PadFusion", "Split", "PReLUFusion", "ReduceFusion",
            "Gather", "TileFusion", "BroadcastTo", "ArgMaxFusion", "Cast", "PowFusion", "ExpFusion", "Maximum",
            "Minimum", "Abs", "Neg", "Sqrt"} <= seen


def test_input_layout_follows_the_file():
    nhwc = read_model(lib.DATA / "small_cnn.ms")
    nchw = read_model(lib.DATA / "small_cnn_nchw.ms")
    assert nhwc.graph.values["image"].shape == (1, 32, 32, 3)
    assert nhwc.graph.values["image"].layout is Layout.NHWC
    assert nchw.graph.values["image"].shape == (1, 3, 32, 32)
    assert nchw.graph.values["image"].layout is not Layout.NHWC


def test_channels_last_transposes_cancel():
    """Between NHWC convolutions the inserted Transposes cancel: one remains, at the NHWC input."""
    model = read_model(lib.DATA / "mobilenet_v2_tiny.ms")
    ops = [n.op_type for n in model.graph.nodes]
    assert ops.count("Conv") == 16
    assert ops.count("Transpose") == 1
    first = model.graph.nodes[0]
    assert first.op_type == "Transpose" and first.inputs == ["input"] and first.attrs["perm"] == [0, 3, 1, 2]


def _mapping_root(array: np.ndarray):
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base


def test_weights_are_zero_copy_views_of_the_mapped_file():
    model = read_model(lib.DATA / "mobilenet_v2_tiny.ms")
    consts = [v for v in model.graph.values.values() if v.is_const and v.const.size > 16]
    assert consts
    for value in consts:
        assert not value.const.flags.owndata, value.name
        assert not value.const.flags.writeable, value.name
        root = _mapping_root(value.const)
        assert isinstance(root, (mmap.mmap, memoryview)) or type(root).__name__ == "mmap", (value.name, type(root))
    conv = next(n for n in model.graph.nodes if n.op_type == "Conv")
    weight = model.graph.values[conv.inputs[1]].const
    assert not weight.flags.c_contiguous  # the OHWI -> OIHW transpose is a view, not a copy


def test_metadata_for_info():
    model = read_model(lib.DATA / "small_cnn.ms")
    meta = model.metadata
    assert meta["ms.fmk_type"] == "2 (ONNX)"
    assert meta["ms.version"] == "(empty)"  # converter_lite 2.0.0 leaves MetaGraph.version empty
    assert "Conv2DFusion 5" in meta["ms.primitives"]
    weights = sum(t.data.nbytes for t in MsFile(lib.DATA / "small_cnn.ms").tensors if t.is_const)
    assert int(meta["ms.weight_bytes"]) == weights > 0


def test_sniff_without_suffix(tmp_path):
    copy = tmp_path / "model.bin"
    copy.write_bytes((lib.DATA / "lstm.ms").read_bytes())
    assert MsFrontend().sniff(copy.read_bytes()[:64])
    model = read_model(copy)
    assert model.source_format == "ms"


def test_input_shapes_override():
    _, inputs, msl, _, _ = lib.fixture("lstm")
    session = litert.load(lib.DATA / "lstm.ms", input_shapes={"x": (3, 2, 8)})
    assert session.model.graph.values["x"].shape == (3, 2, 8)
    out = session.predict([inputs[0][:3], inputs[1], inputs[2]])
    lib.assert_matches(out[0], msl[0][:3], "first 3 steps")


def test_weight_quantised_fixture():
    """converter_lite's 8-bit weight quantisation: int8 weights with per-channel QuantParam (``inited`` left
    false) under QUANT_WEIGHT nodes.  litert dequantises them (with the bias correction) and lands within
    8-bit error of the float model; MindSpore Lite 2.0.0 itself refuses to run this file."""
    [name] = lib.fixture_names(mindspore_lite_runs=False)
    path, inputs, msl, ort, names = lib.fixture(name)
    assert not msl
    ms = MsFile(path)
    quantised = [t for t in ms.tensors if t.is_const and t.data.dtype == np.int8]
    assert quantised and all(len(t.quant_raw) == t.dims[0] for t in quantised)
    assert any(n.quant_type == 4 for n in ms.nodes)
    model = read_model(path)
    kept = [v for v in model.graph.values.values() if v.is_const and v.quant is not None]
    assert len(kept) == len(quantised) and all(v.const.dtype == np.float32 for v in kept)
    # per output channel: the axis follows the weight when the reader transposes it (OHWI -> OIHW keeps it first,
    # MatMul's transposed [N, K] -> [K, N] moves it second)
    assert all(v.quant.axis is not None and v.const.shape[v.quant.axis] == v.quant.scale.size for v in kept)
    assert {v.quant.axis for v in kept} == {0, 1}
    outputs = litert.load(path).predict(inputs)
    for got, want in zip(outputs, ort):
        assert lib.error_over_scale(got, want) < 2e-2
