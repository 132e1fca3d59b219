"""Caffe frontend against OpenCV's DNN module (its Caffe importer is the oracle).

The nets are built from scratch in :mod:`caffe_testlib` (prototxt text and
caffemodel bytes written with litert's own Caffe protos, random weights);
litert's outputs must agree with OpenCV's within 1e-4 of each output's scale.
"""
from __future__ import annotations

import caffe_testlib as ct
import numpy as np
import pytest
from tflite_testlib import max_error

import litert
from litert.errors import ModelLoadError

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def cv2():
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2.dnn, "readNetFromCaffe"):
        pytest.skip(f"OpenCV {cv2.__version__} has no Caffe importer (the test extra pins opencv<5)")
    return cv2


def _compare(net: ct.NetBuilder, folder, seed: int = 0) -> float:
    prototxt, caffemodel = net.save(folder)
    session = litert.load(prototxt)
    feed = np.random.default_rng(seed).standard_normal(session.inputs[0].shape).astype(np.float32)
    names = [o.name for o in session.outputs]
    got = session.run({session.inputs[0].name: feed})
    want = ct.opencv_run(prototxt, caffemodel, feed, names)
    errors = [max_error(want[name], got[name]) for name in names]
    print(f"{net.net.name}: max error {max(errors):.3g}")
    return max(errors)


@pytest.mark.parametrize("name", sorted(ct.NETS))
def test_net_matches_opencv(cv2, tmp_path, name):
    assert _compare(ct.NETS[name](), tmp_path) <= TOLERANCE


@pytest.mark.parametrize("size,kernel,stride,pad", [(23, 2, 2, 0), (12, 3, 2, 1), (7, 3, 2, 1), (10, 3, 3, 1),
                                                    (9, 4, 3, 2), (5, 5, 1, 2), (6, 2, 1, 0)])
@pytest.mark.parametrize("method", [ct.MAX, ct.AVE])
def test_pooling_rounding_and_padding_match_opencv(cv2, tmp_path, size, kernel, stride, pad, method):
    """Caffe's ceil rounding, its rule that the last window starts inside the padded input, and AVE's divisor."""
    net = ct.NetBuilder("pool", (1, 3, size, size + 1), seed=size)
    net.pool("out", "data", method, kernel, stride, pad)
    assert _compare(net, tmp_path) <= TOLERANCE


def test_floor_rounding_and_lrn_bias(tmp_path):
    """Against numpy: Caffe's ``round_mode: FLOOR`` and LRN's ``k`` (OpenCV has no round_mode and ignores ``k``)."""
    net = ct.NetBuilder("floor_k", (1, 6, 7, 7), seed=7)
    net.add("Pooling", "pool", "data", pooling_param={"pool": ct.MAX, "kernel_size": 2, "stride": 2,
                                                      "round_mode": ct.caffe_pb2.PoolingParameter.FLOOR})
    net.add("LRN", "norm", "data", lrn_param={"local_size": 3, "alpha": 0.3, "beta": 0.75, "k": 2.0})
    prototxt, _ = net.save(tmp_path)
    x = np.random.default_rng(0).standard_normal((1, 6, 7, 7)).astype(np.float32)
    out = litert.load(prototxt).run({"data": x})
    pooled = x[:, :, :6, :6].reshape(1, 6, 3, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_allclose(out["pool"], pooled, rtol=0, atol=0)
    squares = np.pad(x ** 2, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = squares[:, :-2] + squares[:, 1:-1] + squares[:, 2:]
    np.testing.assert_allclose(out["norm"], x / (2.0 + 0.3 / 3 * window) ** 0.75, rtol=1e-5, atol=1e-6)


def test_convert_to_onnx_and_ms_keeps_outputs(cv2, tmp_path):
    net = ct.resnet()
    prototxt, caffemodel = net.save(tmp_path)
    feed = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    want = ct.opencv_run(prototxt, caffemodel, feed, ["fc"])["fc"]
    for suffix in (".onnx", ".ms"):
        out = tmp_path / f"m{suffix}"
        litert.convert(prototxt, out, fmk="caffe", weight_file=caffemodel)
        session = litert.load(out)
        data = feed if suffix == ".onnx" else feed.transpose(0, 2, 3, 1)  # .ms inputs are NHWC by default
        got = session.run({session.inputs[0].name: data})[session.outputs[0].name]
        assert max_error(want, got) <= TOLERANCE, suffix


def test_weight_file_is_found_beside_or_given(tmp_path):
    prototxt, caffemodel = ct.lenet().save(tmp_path)
    elsewhere = tmp_path / "weights"
    elsewhere.mkdir()
    moved = caffemodel.rename(elsewhere / "trained.caffemodel")
    with pytest.raises(ModelLoadError, match="--weight-file"):
        litert.load(prototxt)
    session = litert.load(prototxt, weight_file=moved)
    assert [o.name for o in session.outputs] == ["prob"]


def test_legacy_inputs_v1_weights_and_phase_rules(tmp_path):
    """The net's ``input``/``input_dim`` fields, a V1 (``layers``) caffemodel, TRAIN-only and loss layers left out."""
    from litert_formats.caffe import caffe_pb2

    net = ct.NetBuilder("legacy", (1, 2, 5, 5), seed=9)
    net.conv("conv", "data", 2, 3, 3, pad=1)
    train = net.net.layer.add(name="noise", type="Power", bottom=["conv"], top=["conv"])
    train.power_param.scale = 100.0
    train.include.add(phase=caffe_pb2.TRAIN)
    net.net.layer.add(name="acc", type="Accuracy", bottom=["conv", "label"], top=["accuracy"])
    weights = {layer.name: list(layer.blobs) for layer in net.net.layer}
    structure = caffe_pb2.NetParameter(name="legacy", input=["data"], input_dim=[1, 2, 5, 5])
    for layer in net.net.layer[1:]:
        copy = structure.layer.add()
        copy.CopyFrom(layer)
        del copy.blobs[:]
    (tmp_path / "legacy.prototxt").write_text(ct.text_format.MessageToString(structure))
    v1 = caffe_pb2.NetParameter(name="legacy")
    for name, blobs in weights.items():
        if blobs:
            v1.layers.add(name=name, type=4, blobs=blobs)
    (tmp_path / "legacy.caffemodel").write_bytes(v1.SerializeToString())
    session = litert.load(tmp_path / "legacy.prototxt")
    assert [i.name for i in session.inputs] == ["data"] and [o.name for o in session.outputs] == ["conv"]
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    w, b = (np.asarray(blob.data, np.float32) for blob in weights["conv"])
    w = w.reshape(3, 2, 3, 3)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.einsum("nchwij,ocij->nohw", np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3)), w)
    np.testing.assert_allclose(session.run({"data": x})["conv"], want + b.reshape(1, 3, 1, 1), rtol=1e-5, atol=1e-5)


def test_data_layer_takes_its_shape_from_input_shapes(tmp_path):
    net = ct.NetBuilder("datanet", (1, 3, 8, 8))
    net.net.layer[0].type = "Data"
    net.net.layer[0].top.append("label")
    net.net.layer[0].ClearField("input_param")
    net.relu("relu", "data")
    prototxt, _ = net.save(tmp_path)
    (tmp_path / "datanet.caffemodel").write_bytes(b"\n\x07datanet")  # a weight file with no blobs
    with pytest.raises(ModelLoadError, match="--input-shape"):
        litert.load(prototxt)
    session = litert.load(prototxt, input_shapes={"data": (2, 3, 8, 8)})
    assert session.inputs[0].shape == (2, 3, 8, 8)


P = ct.caffe_pb2
#: one-layer nets over a (2, 3, 6, 7) input, OpenCV as the oracle
SMALL_NETS = {
    "crop": lambda n: n.add("Crop", "out", ["data", n.pool("ref", "data", ct.MAX, 2, 2)],
                            crop_param={"axis": 2, "offset": [1, 2]}),
    "exp": lambda n: n.add("Exp", "out", "data", exp_param={"base": 2.0, "scale": 0.5, "shift": 0.1}),
    "log": lambda n: n.add("Log", "out", n.add("AbsVal", "abs", "data")),
    "mvn": lambda n: n.add("MVN", "out", "data", mvn_param={"eps": 1e-5}),
    "mvn_mean_only": lambda n: n.add("MVN", "out", "data", mvn_param={"across_channels": True,
                                                                       "normalize_variance": False}),
}


@pytest.mark.parametrize("name", sorted(SMALL_NETS))
def test_small_layer_matches_opencv(cv2, tmp_path, name):
    net = ct.NetBuilder(name, (2, 3, 6, 7), seed=11)
    SMALL_NETS[name](net)
    assert _compare(net, tmp_path) <= TOLERANCE


def _numpy_cases(x):
    """Layers OpenCV does not import (Threshold, Reduction, ArgMax), imports differently (Tile) or imports
    without their parameters (Log's base/scale/shift), with Caffe's definition in numpy."""
    return {
        "threshold": ({"type_": "Threshold", "threshold_param": {"threshold": 0.3}}, (x > 0.3).astype(np.float32)),
        "tile": ({"type_": "Tile", "tile_param": {"axis": 2, "tiles": 3}}, np.tile(x, (1, 1, 3, 1))),
        "reduction": ({"type_": "Reduction", "reduction_param": {"operation": P.ReductionParameter.SUMSQ, "axis": 2,
                                                                 "coeff": 0.5}}, 0.5 * (x ** 2).sum(axis=(2, 3))),
        "argmax_axis": ({"type_": "ArgMax", "argmax_param": {"axis": 1}},
                        x.argmax(axis=1)[:, None].astype(np.float32)),
        "argmax_flat": ({"type_": "ArgMax", "argmax_param": {}},
                        x.reshape(2, -1).argmax(axis=1).reshape(2, 1, 1).astype(np.float32)),
        "log_base": ({"type_": "Log", "log_param": {"base": 10.0, "scale": 2.0, "shift": 8.0}},
                     np.log10(8.0 + 2.0 * x)),
    }


@pytest.mark.parametrize("name", ["threshold", "tile", "reduction", "argmax_axis", "argmax_flat", "log_base"])
def test_small_layer_matches_numpy(tmp_path, name):
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 7)).astype(np.float32)
    params, want = _numpy_cases(x)[name]
    net = ct.NetBuilder(name, x.shape)
    net.add(params.pop("type_"), "out", "data", **params)
    prototxt, _ = net.save(tmp_path)
    got = litert.load(prototxt).run({"data": x})["out"]
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
