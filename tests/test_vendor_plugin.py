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
    assert len(session.schedule.copies) == 4  # cpu->toy, toy->cpu, cpu->toy, toy->host
    before = (toy.nodes_run, toy.copies_in, toy.copies_out)
    [y] = session.predict([x])
    assert (toy.nodes_run - before[0], toy.copies_in - before[1], toy.copies_out - before[2]) == (4, 2, 2)
    np.testing.assert_allclose(y, reference_mixed(0, x), rtol=1e-5, atol=1e-6)
    [y_cpu] = Session(mixed_model()[0], devices=["cpu"], optimize_level="none").predict([x])
    np.testing.assert_allclose(y, y_cpu, rtol=1e-6, atol=1e-7)
    assert any(line.startswith("toy: 4/6 nodes, 2 partitions") for line in session.summary_lines())


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
