"""A vendor backend installed from its own package, through entry points only.

The package in ``tests/vendor_plugin`` is pip-installed like a third party's:
a partial 'toy' accelerator, and a second plugin whose import fails.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.graphs import mixed_model, reference_mixed

import litert
import litert.plugins
from litert.runtime import Session

VENDOR = Path(__file__).parent / "vendor_plugin"
ALLOW = "litert-cpu,litert-formats,litert-ascend,litert-kirin-npu,litert-toy-vendor"


@pytest.fixture(scope="module")
def vendor_installed():
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(VENDOR)],
        check=True, capture_output=True,
    )
    importlib.invalidate_caches()
    yield
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "litert-toy-vendor"], capture_output=True)


@pytest.fixture
def vendor_host(vendor_installed, monkeypatch):
    monkeypatch.setenv("LITERT_PLUGINS", ALLOW)
    litert.plugins.reset()
    yield litert.plugins.host()
    litert.plugins.reset()


def test_partition_copies_placement_and_fallback(vendor_host):
    toy = vendor_host.backend("toy")
    assert toy.distribution == "litert-toy-vendor"
    model, x = mixed_model()
    session = Session(model, devices=["toy", "cpu"], optimize_level="none")
    placement = {p.op_type: p for p in session.placement}
    assert placement["Relu"].backend == "toy"
    assert placement["Conv"].backend == "cpu" and "Conv" in placement["Conv"].refused["toy"]
    assert placement["Transpose"].refused["toy"] == "op Transpose not supported"
    partitions = [(p.backend, [n.op_type for n in p.graph.nodes]) for p in session.schedule.partitions]
    assert partitions == [("cpu", ["Conv"]), ("toy", ["Relu", "Add", "Sigmoid"]), ("cpu", ["Transpose"]), ("toy", ["Mul"])]
    assert len(session.schedule.copies) == 4  # cpu->toy, toy->cpu, cpu->toy, toy->cpu (the host)
    before = (toy.nodes_run, toy.copies_in, toy.copies_out)
    [y] = session.predict([x])
    assert (toy.nodes_run - before[0], toy.copies_in - before[1], toy.copies_out - before[2]) == (4, 2, 2)
    np.testing.assert_allclose(y, reference_mixed(0, x), rtol=1e-5, atol=1e-6)
    [y_cpu] = Session(mixed_model()[0], devices=["cpu"], optimize_level="none").predict([x])
    np.testing.assert_allclose(y, y_cpu, rtol=1e-6, atol=1e-7)
    assert any(line.startswith("toy: 4/6 nodes, 2 partitions") for line in session.summary_lines())


@pytest.mark.parametrize("option, value", [("min_partition_nodes", 2), ("max_partitions", 1)])
def test_backend_declines_a_partition_as_a_whole(vendor_host, option, value):
    """The toy device keeps Relu+Add+Sigmoid and gives up the lone Mul: the CPU runs it, and says why."""
    toy = vendor_host.backend("toy")
    setattr(toy, option, value)
    model, x = mixed_model()
    session = Session(model, devices=["toy", "cpu"], optimize_level="none")
    partitions = [(p.backend, [n.op_type for n in p.graph.nodes]) for p in session.schedule.partitions]
    assert partitions == [("cpu", ["Conv"]), ("toy", ["Relu", "Add", "Sigmoid"]), ("cpu", ["Transpose", "Mul"])]
    mul = next(p for p in session.placement if p.op_type == "Mul")
    assert mul.backend == "cpu" and mul.refused["toy"].startswith("partition declined: ")
    assert option in mul.refused["toy"] and "partition declined" in str(mul)
    np.testing.assert_allclose(session.run({"x": x})["y"], reference_mixed(0, x), rtol=1e-5, atol=1e-6)


def test_shape_change_prepares_instead_of_recompiling(vendor_host):
    """After resize the toy partitions are prepared for the new batch; only the CPU's are compiled again."""
    toy = vendor_host.backend("toy")
    model, x = mixed_model()
    session = Session(model, devices=["toy", "cpu"], optimize_level="none")
    compiled, prepared = type(toy).compiled, type(toy).prepared
    session.resize({"x": (3, 3, 8, 8)})
    assert (type(toy).compiled - compiled, type(toy).prepared - prepared) == (0, 2)
    assert [session.schedule.partitions[i].backend for i in session.recompiled] == ["cpu", "cpu"]
    batch = np.concatenate([x, 2 * x, -x])
    np.testing.assert_allclose(session.run({"x": batch})["y"], reference_mixed(0, batch), rtol=1e-5, atol=1e-5)


def test_toy_backend_passes_the_conformance_kit(vendor_host):
    """What a vendor runs in its own CI: every kit case for an operator the toy backend claims."""
    from litert.conformance import check_backend

    report = check_backend("toy")
    assert report.passed, "\n".join(report.lines())
    assert sorted(r.case for r in report.results) == ["Add", "Mul", "Relu", "Sigmoid"]


def test_conformance_kit_catches_a_wrong_kernel(vendor_host, monkeypatch):
    from litert.conformance import check_backend
    from litert_toy_vendor import backend as toy_backend

    monkeypatch.setitem(toy_backend._OPS, "Sigmoid", lambda x: 1 / (1 + np.exp(x)))  # the sign slipped
    report = check_backend("toy")
    assert not report.passed
    assert [r.case for r in report.results if not r.passed] == ["Sigmoid"]
    assert "max abs difference" in report.lines()[1]


def test_custom_cpu_kernel_from_the_vendor_package(vendor_host, tmp_path):
    """An operator ONNX lacks (com.toy::ScaledTanh): the package's schema and litert_cpu.Kernel subclass."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("ScaledTanh", ["x"], ["y"], domain="com.toy", alpha=2.5)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    path = tmp_path / "scaled_tanh.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.toy", 1)]),
              path)
    session = litert.load(path, devices=["toy", "cpu"])
    x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(session.run({"x": x})["y"], 2.5 * np.tanh(x), rtol=1e-6)
    [placed] = session.placement
    assert (placed.op_type, placed.backend) == ("com.toy::ScaledTanh", "cpu")
    assert "not supported" in placed.refused["toy"]  # the toy device does not claim it; the custom CPU kernel runs it


def test_broken_plugin_is_listed_and_nothing_else_breaks(vendor_installed):
    env = {**os.environ, "LITERT_PLUGINS": ALLOW}
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "list-backends", "--json"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["broken_vendor"]["status"] == "failed"
    assert rows["broken_vendor"]["distribution"] == "litert-toy-vendor"
    assert "litert_toy_vendor_native_runtime" in rows["broken_vendor"]["reason"]
    assert rows["toy"]["status"] == "available" and rows["cpu"]["status"] == "available"
    assert rows["ascend"]["status"] == "unavailable"
    help_result = subprocess.run([sys.executable, "-m", "litert.cli.main", "--help"], capture_output=True, text=True, env=env)
    assert help_result.returncode == 0


def test_strict_mode_raises_on_broken_plugin(vendor_installed, monkeypatch):
    monkeypatch.setenv("LITERT_PLUGINS", ALLOW)
    monkeypatch.setenv("LITERT_STRICT_PLUGINS", "1")
    litert.plugins.reset()
    try:
        with pytest.raises(ImportError):
            litert.plugins.host()
    finally:
        litert.plugins.reset()


def test_third_party_plugins_stay_out_unless_allowed(vendor_installed, monkeypatch):
    litert.plugins.reset()  # conftest's allowlist: litert's own plugins only
    try:
        assert "toy" not in litert.plugins.host().backends
        monkeypatch.setenv("LITERT_DISABLE_PLUGIN_AUTOLOAD", "1")
        litert.plugins.reset()
        assert litert.plugins.host().backends == {}
    finally:
        litert.plugins.reset()


def test_vendor_format_pass_and_reference_engine(vendor_host, tmp_path):
    """The format, pass and reference-engine hooks: a .toyjson model is read by the package's frontend, run,
    converted (the package's pass runs in the pipeline, its serializer writes the file) and compared against
    the package's reference engine, which ``auto`` picks for the suffix."""
    from litert.benchmark.comparison import compare
    from litert_toy_vendor.toyformat import SEEN_KEY

    assert {"toy"} <= set(vendor_host.frontends) and {"toy"} <= set(vendor_host.serializers)
    assert "toy_counting" in vendor_host.passes and "toy-numpy" in vendor_host.reference_engines
    source = tmp_path / "swish.toyjson"
    source.write_text(json.dumps({"format": "toy", "inputs": {"x": [2, 3]},
                                  "nodes": [["Sigmoid", ["x"], ["s"]], ["Mul", ["x", "s"], ["y"]]], "outputs": ["y"]}))
    x = np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3)
    session = litert.load(source, devices=["cpu"])
    np.testing.assert_allclose(session.run({"x": x})["y"], x / (1 + np.exp(-x)), rtol=1e-6)

    out = tmp_path / "again.toyjson"
    litert.convert(source, out)
    written = json.loads(out.read_text())
    assert written["nodes"] == [["Sigmoid", ["x"], ["s"]], ["Mul", ["x", "s"], ["y"]]]
    assert written["metadata"][SEEN_KEY] == "2"

    result = compare(source, out, inputs={"x": x})
    assert result.reference_engine == "toy-numpy"
    assert {t.name for t in result.tensors} == {"s", "y"} and not result.diverged
