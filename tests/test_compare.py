"""``litert compare`` names the node where a model departs from its reference."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from helpers.modelgen import light_input, mobilenet_v2, randomized_light_model
from test_benchmark import perturbed

from litert.benchmark import compare
from litert.errors import InputError


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "litert.cli.main", *args], capture_output=True, text=True)


def _error_lines(result) -> list[str]:
    """The command's own stderr lines (a plugin being installed meanwhile may log its own)."""
    return [line for line in result.stderr.splitlines() if line.startswith("litert compare:")]


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    """A generated MobileNetV2 and a copy with the weight of one Conv in the middle scaled by 1.2."""
    root = tmp_path_factory.mktemp("mobilenet")
    model = mobilenet_v2(seed=0, width=0.35, resolution=32, classes=10)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    target = convs[len(convs) // 2]
    good, bad = root / "original.onnx", root / "converted.onnx"
    onnx.save(model, good)
    onnx.save(perturbed(model, target.input[1]), bad)
    x = np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.save(root / "x.npy", x)
    [batch_norm] = [n for n in model.graph.node if target.output[0] in n.input]
    readers = [n for n in model.graph.node if batch_norm.output[0] in n.input]
    # optimised, the Conv takes the output name of the last node it absorbs: the BatchNorm, or the residual
    # Add after it (a MobileNetV2 bottleneck's projection)
    fused = readers[0] if len(readers) == 1 and readers[0].op_type == "Add" else batch_norm
    return {"dir": root, "good": good, "bad": bad, "x": root / "x.npy", "node": target.name,
            "tensor": target.output[0], "input": target.input[0], "fused_output": fused.output[0]}


@pytest.mark.parametrize("engine", ["onnxruntime", "litert"])
def test_compare_names_the_perturbed_node(mobilenet, engine):
    result = compare(mobilenet["bad"], mobilenet["good"], inputs=[mobilenet["x"]], reference_engine=engine)
    first = result.first_divergence
    assert result.reference_engine == engine and not result.passed
    assert (first.node, first.op_type, first.name) == (mobilenet["node"], "Conv", mobilenet["tensor"])
    assert first.relative_error > 0.05
    assert result.agreeing_inputs == [mobilenet["input"]]
    # everything before the perturbed node agrees, and the error reaches the output
    index = [t.name for t in result.tensors].index(first.name)
    assert index > 10 and not any(t.diverged for t in result.tensors[:index])
    assert any(t.is_output and t.diverged for t in result.tensors)


def test_compare_agrees_with_itself_and_optimised(mobilenet):
    """The original against itself: every tensor agrees; optimised, fused nodes are compared by output name."""
    same = compare(mobilenet["good"], mobilenet["good"], inputs=[mobilenet["x"]])
    assert same.passed and len(same.tensors) == len(onnx.load(mobilenet["good"]).graph.node)
    assert max(t.relative_error for t in same.tensors) < 1e-4
    fused = compare(mobilenet["bad"], mobilenet["good"], inputs=[mobilenet["x"]], optimize="general")
    first = fused.first_divergence
    assert len(fused.tensors) < len(same.tensors)  # BatchNorm folded into the Conv, activations fused
    # the folded Conv keeps its name and takes the output name of what it absorbed, which the reference also has
    assert (first.node, first.name) == (mobilenet["node"], mobilenet["fused_output"])
    assert mobilenet["tensor"] not in {t.name for t in fused.tensors}  # the Conv's own output is gone


def test_light_zoo_model_against_itself_counts_only_tensors_that_are_read(tmp_path):
    """SqueezeNet (opset 9): litert gives the unread Dropout mask today's bool type, onnxruntime opset 9's
    float zeros; that difference is shown but is not a divergence, and every tensor that is read agrees."""
    src = tmp_path / "squeezenet.onnx"
    model = randomized_light_model("squeezenet", seed=0)
    onnx.save(model, src)
    result = compare(src, src, inputs=light_input(model, seed=2))
    assert result.passed and result.first_divergence is None
    [mask] = [n.output[1] for n in model.graph.node if n.op_type == "Dropout"]
    assert [t.name for t in result.ignored] == [mask] and "dtype bool vs reference float32" in result.ignored[0].note
    assert len(result.tensors) == len(model.graph.node) + 1  # every node output, the Dropout's two
    assert max(t.relative_error for t in result.tensors if not t.unused) < 1e-4


def test_compare_cli_exit_code_dump_and_json(mobilenet, tmp_path):
    dump, report = tmp_path / "dump", tmp_path / "cmp.json"
    bad = _cli("compare", "--model", str(mobilenet["bad"]), "--reference", str(mobilenet["good"]),
               "--in-data", str(mobilenet["x"]), "--dump", str(dump), "--json", str(report))
    assert bad.returncode == 1
    [line] = _error_lines(bad)
    assert f"first diverging node '{mobilenet['node']}' (Conv), tensor '{mobilenet['tensor']}'" in line
    assert f"first diverging node: {mobilenet['node']} (Conv)" in bad.stdout
    data = json.loads(report.read_text())
    assert data["first_diverging_node"] == mobilenet["node"] and data["passed"] is False
    ours, theirs = np.load(dump / "model.npz"), np.load(dump / "reference.npz")
    assert mobilenet["tensor"] in ours.files and mobilenet["tensor"] in theirs.files
    assert np.abs(ours[mobilenet["tensor"]] - theirs[mobilenet["tensor"]]).max() == pytest.approx(
        data["tensors"][[t["name"] for t in data["tensors"]].index(mobilenet["tensor"])]["max_abs_error"], rel=1e-6)
    good = _cli("compare", "--model", str(mobilenet["good"]), "--reference", str(mobilenet["good"]),
                "--in-data", str(mobilenet["x"]))
    assert good.returncode == 0 and "no tensor diverges" in good.stdout


def test_auto_engine_falls_back_to_litert_without_onnxruntime(mobilenet, monkeypatch):
    from litert.benchmark import comparison
    from litert_formats.onnx import reference

    assert comparison.pick_engine("auto", mobilenet["good"]) == "onnxruntime"  # installed for the tests
    monkeypatch.setattr(reference, "_missing", lambda: "the onnxruntime package is not installed")
    result = compare(mobilenet["bad"], mobilenet["good"], inputs=[mobilenet["x"]])
    assert result.reference_engine == "litert" and result.first_divergence.node == mobilenet["node"]


def test_compare_bad_input(mobilenet, tmp_path):
    with pytest.raises(InputError, match="reference model .*nothing.onnx: no such file"):
        compare(mobilenet["bad"], tmp_path / "nothing.onnx", inputs=[mobilenet["x"]])
    with pytest.raises(InputError, match=r"input 'input' has dimensions \[N,3,32,32\]"):
        compare(mobilenet["bad"], mobilenet["good"])  # random data needs fixed dims
    shaped = compare(mobilenet["bad"], mobilenet["good"], input_shapes={"input": (2, 3, 32, 32)})
    assert shaped.first_divergence.node == mobilenet["node"]
