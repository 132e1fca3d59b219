"""Bad Caffe files give a typed litert error, never a bare exception (the .ms tests' style).

Cut points and byte flips over both files of a small net (prototxt text and
caffemodel bytes), plus the semantic faults a parser cannot see.
"""
from __future__ import annotations

import caffe_testlib as ct
import pytest
from helpers.hostile import mutations

from litert.errors import LitertError, ModelLoadError, UnsupportedOperatorError
from litert.formats import LoadOptions
from litert.runtime.loading import read_model


def _small(tmp_path):
    net = ct.NetBuilder("small", (1, 3, 8, 8), seed=0)
    x = n_conv = net.conv("conv", "data", 3, 4, 3, pad=1)
    x = net.relu("relu", n_conv)
    x = net.pool("pool", x, ct.MAX, 2, 2)
    net.ip("fc", x, 4 * 4 * 4, 5)
    return net, *net.save(tmp_path)


def _outcome(prototxt, caffemodel) -> str:
    try:  # a cut between two layers can leave a smaller valid net: loading it is fine
        read_model(prototxt, "caffe", LoadOptions(weight_file=caffemodel))
        return "loaded"
    except LitertError:
        return "error"


@pytest.mark.parametrize("which", ["prototxt", "caffemodel"])
def test_truncated_and_flipped_files_give_typed_errors(tmp_path, which):
    _, prototxt, caffemodel = _small(tmp_path)
    target = prototxt if which == "prototxt" else caffemodel
    outcomes = {"loaded": 0, "error": 0}
    for i, case in enumerate(mutations(target.read_bytes(), seed=len(which))):
        bad = tmp_path / f"case{i}{target.suffix}"
        bad.write_bytes(case)
        pair = (bad, caffemodel) if which == "prototxt" else (prototxt, bad)
        outcomes[_outcome(*pair)] += 1
    assert outcomes["error"] > 0 and outcomes["loaded"] < sum(outcomes.values())


def test_garbage_empty_missing_and_v1(tmp_path):
    _, prototxt, caffemodel = _small(tmp_path)
    for name, data, match in [("junk.prototxt", b"layer { name: \x00\xff", "not a Caffe prototxt"),
                              ("empty.prototxt", b"  \n", "empty"),
                              ("nolayers.prototxt", b'name: "x"', "no layers"),
                              ("v1.prototxt", b'layers { name: "c" type: CONVOLUTION }', "V1")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelLoadError, match=match):
            read_model(tmp_path / name, "caffe", LoadOptions(weight_file=caffemodel))
    with pytest.raises(ModelLoadError, match="no such weight file"):
        read_model(prototxt, "caffe", LoadOptions(weight_file=tmp_path / "absent.caffemodel"))
    (tmp_path / "junk.caffemodel").write_bytes(b"\xff\xfe not protobuf")
    with pytest.raises(ModelLoadError, match="not a Caffe weight file"):
        read_model(prototxt, "caffe", LoadOptions(weight_file=tmp_path / "junk.caffemodel"))


def test_semantic_faults_are_named(tmp_path):
    net, prototxt, caffemodel = _small(tmp_path)
    text = prototxt.read_text()
    cases = [
        (text.replace('type: "ReLU"', 'type: "MyCustomLayer"'), UnsupportedOperatorError, "MyCustomLayer"),
        (text.replace('bottom: "conv"', 'bottom: "nowhere"', 1), ModelLoadError, "nowhere"),
        (text.replace("num_output: 4", "num_output: 6", 1), ModelLoadError, "weight blob 0 has shape"),
        (text.replace("pool: MAX", "pool: STOCHASTIC"), UnsupportedOperatorError, "STOCHASTIC"),
        (text.replace("dim: 8", "dim: -8", 1), ModelLoadError, "positive dims"),
    ]
    for i, (changed, error, match) in enumerate(cases):
        assert changed != text, match
        bad = tmp_path / f"fault{i}.prototxt"
        bad.write_text(changed)
        with pytest.raises(error, match=match):
            read_model(bad, "caffe", LoadOptions(weight_file=caffemodel))
    blob = net.net.layer[1].blobs[0]
    del blob.data[-1]
    caffemodel.write_bytes(net.net.SerializeToString())
    with pytest.raises(ModelLoadError, match="values for a"):
        read_model(prototxt, "caffe")
