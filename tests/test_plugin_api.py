"""Plugin API 2 details not tied to the vendor package: pass levels, probe isolation."""
from __future__ import annotations

import types

import pluggy
import pytest
from helpers.graphs import make_model

from litert.backend import Availability, Backend, probe
from litert.ir import DType, Model, Node
from litert.passes import PassContext, PassResult, run_pipeline
from litert.passes.base import Pass
from litert.plugins import host
from litert.runtime.session import resolve_backends


class Tagging(Pass):
    """Records that it ran, at the level given."""

    def __init__(self, level: str) -> None:
        self.name = f"tag_{level}"
        self.level = level

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        model.metadata[self.name] = "ran"
        return PassResult(self.name)


@pytest.mark.parametrize("level, ran", [("none", ["tag_lowering"]), ("general", ["tag_lowering", "tag_general"])])
def test_plugin_pass_levels(level, ran):
    model = make_model([Node("Relu", ["x"], ["y"])], {"x": (2, 3)}, ["y"])
    results = run_pipeline(model, level, PassContext(), [Tagging("general"), Tagging("lowering")])
    assert sorted(k for k in model.metadata if k.startswith("tag_")) == sorted(ran)
    assert [r.name for r in results if r.name.startswith("tag_")] == ran


def test_unknown_pass_level_is_refused():
    model = make_model([Node("Relu", ["x"], ["y"])], {"x": (2, 3)}, ["y"])
    with pytest.raises(ValueError, match="unknown level 'sometimes'"):
        run_pipeline(model, "general", PassContext(), [Tagging("sometimes")])


class Exploding(Backend):
    name = "exploding"
    priority = 90

    def probe(self) -> Availability:
        raise OSError("driver crashed")

    def supported_ops(self):
        return {("", "Relu")}

    def compile(self, subgraph, ctx):
        raise AssertionError("an unavailable backend is never compiled")


def test_a_raising_probe_is_unavailable_not_fatal():
    status = probe(Exploding())
    assert (status.available, status.failed) == (False, True) and "OSError: driver crashed" in status.reason
    table = host().backends
    table["exploding"] = Exploding()
    try:
        usable, notes = resolve_backends(None)
        assert "exploding" not in [b.name for b in usable] and "driver crashed" in notes["exploding"]
    finally:
        del table["exploding"]


class FloatOnly(Backend):
    name = "float_only"
    supported_dtypes = frozenset({"float32"})

    def probe(self) -> Availability:
        return Availability(True)

    def supported_ops(self):
        return {("", "Relu")}

    def compile(self, subgraph, ctx):
        raise AssertionError


def test_supported_dtypes_are_checked_by_the_default_check_node():
    model = make_model([Node("Relu", ["x"], ["y"])], {"x": (2, 3)}, ["y"])
    backend = FloatOnly()
    assert backend.check_node(model.graph.nodes[0], model.graph) is None
    model.graph.values["x"].dtype = DType.INT64
    assert backend.check_node(model.graph.nodes[0], model.graph) == "dtype int64 of input 'x' not supported"


def test_plugin_distributions_are_named_as_importlib_metadata_names_them():
    """Discovery reads each distribution's Name and Version headers itself (without the email parser):
    the same strings ``Distribution.name`` and ``.version`` give, for every installed distribution."""
    import importlib.metadata as md

    from litert.plugins import _name_and_version

    distributions = list(md.distributions())
    assert distributions
    for dist in distributions:
        assert _name_and_version(dist) == (dist.name or "", dist.version or "")
    loaded = {info.name: info for info in host().loaded}
    assert loaded["cpu"].distribution == "litert-cpu" and loaded["cpu"].version == md.version("litert-cpu")


def test_entry_points_are_those_importlib_metadata_finds():
    """Discovery lists the metadata folders of ``sys.path`` itself; every group's entry points (not just
    litert's) come out as ``importlib.metadata.entry_points`` gives them, in its order."""
    import importlib.metadata as md

    from litert.entry_points import entry_points

    installed = md.entry_points()
    groups = installed.groups
    assert {"litert.backends", "litert.formats", "console_scripts"} <= groups
    ours = entry_points(groups)
    for group in groups:
        theirs = [(e.name, e.value, e.dist.name if e.dist else None) for e in installed.select(group=group)]
        assert [(e.name, e.value, _name_and_version(e.dist)[0] if e.dist else None) for e in ours[group]] == theirs


def _name_and_version(dist):
    from litert.plugins import _name_and_version

    return _name_and_version(dist)


_PLUGIN_MODULE = '''
from litert.backend import Availability, Backend
from litert.hookspecs import hookimpl


class Probe(Backend):
    name = "entry_point_probe"

    def probe(self):
        return Availability(False, "a test plugin")

    def supported_ops(self):
        return set()

    def compile(self, subgraph, ctx):
        raise AssertionError


@hookimpl
def litert_register_backends(register):
    register(Probe())
'''


def _install(site, name: str, entry: str) -> None:
    """A distribution as pip leaves it: the module, and its ``.dist-info`` with METADATA and entry points."""
    (site / f"{name}.py").write_text(_PLUGIN_MODULE)
    info = site / f"{name}-2.5.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 2.5\n\nA test plugin.\n")
    (info / "entry_points.txt").write_text(f"[litert.backends]\n{entry} = {name}\n")


def test_installed_and_removed_plugins_are_seen_by_the_next_discovery(tmp_path, monkeypatch):
    """No cache stands between discovery and the installed packages: a plugin installed after a discovery
    is loaded by the next one (name and version from its metadata), one removed is gone."""
    import shutil

    import litert.plugins

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LITERT_PLUGINS", "litert-cpu,litert_ep_probe")
    litert.plugins.reset()
    try:
        assert "entry_point_probe" not in litert.plugins.host().backends
        _install(tmp_path, "litert_ep_probe", "ep_probe")
        litert.plugins.reset()
        found = litert.plugins.host()
        assert "entry_point_probe" in found.backends and "cpu" in found.backends
        [info] = [i for i in found.loaded if i.name == "ep_probe"]
        assert (info.group, info.distribution, info.version) == ("litert.backends", "litert_ep_probe", "2.5")
        shutil.rmtree(tmp_path / "litert_ep_probe-2.5.dist-info")
        litert.plugins.reset()
        assert "entry_point_probe" not in litert.plugins.host().backends
    finally:
        litert.plugins.reset()


def test_a_layout_discovery_does_not_read_itself_goes_to_importlib_metadata(tmp_path, monkeypatch):
    """A zip on ``sys.path`` (zipimport) holds distributions only ``importlib.metadata`` reads: its entry
    points are found, through it, with the directories' ones, in its order."""
    import importlib.metadata as md
    import zipfile

    from litert.entry_points import entry_points

    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("litert_zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: litert_zipped\nVersion: 1.0\n")
        z.writestr("litert_zipped-1.0.dist-info/entry_points.txt", "[litert.passes]\nzipped = litert_zipped:hooks\n")
    monkeypatch.syspath_prepend(str(archive))
    found = entry_points(["litert.passes", "litert.backends"])
    assert [(e.name, e.value) for e in found["litert.passes"]][:1] == [("zipped", "litert_zipped:hooks")]
    for group in ("litert.passes", "litert.backends"):
        assert [(e.name, e.value) for e in found[group]] == [(e.name, e.value) for e in md.entry_points(group=group)]


@pytest.mark.parametrize("name", ["litert_cpu", "Litert-Formats", "a..b__c", "x_-._Y", "zope.interface"])
def test_distribution_names_normalise_as_importlib_metadata_does(name):
    import importlib.metadata as md

    from litert.entry_points import _normalize

    assert _normalize(name) == md.Prepared.normalize(name)


@pytest.mark.parametrize("value", ["os.path:join", "os.path", "os : path.join", "json:decoder.JSONDecoder [speedups]"])
def test_entry_point_values_load_what_importlib_metadata_loads(value):
    import importlib.metadata as md

    from litert.entry_points import EntryPoint

    assert EntryPoint("x", value, "g").load() is md.EntryPoint("x", value, "g").load()


@pytest.mark.parametrize("value", ["os:", ":join", "os-path", "os: 1a", "os [extra"])
def test_a_malformed_entry_point_value_is_a_value_error(value):
    from litert.entry_points import EntryPoint

    with pytest.raises(ValueError, match="is not module"):
        EntryPoint("x", value, "g").load()


def _module_plugin(**attrs) -> types.ModuleType:
    module = types.ModuleType("litert_test_plugin")
    module.__dict__.update(attrs)
    return module


def test_module_plugins_register_functions_and_bound_methods_and_refuse_unknown_hooks():
    """litert's manager skips a module plugin's non-function attributes before pluggy looks at them; what
    pluggy would find it still finds, and a marked function naming no hook is still refused."""
    from litert.hookspecs import hookimpl
    from litert.plugins import PluginHost

    class Hooks:
        @hookimpl
        def litert_register_passes(self, register):
            register(Tagging("general"))

    @hookimpl
    def litert_register_reference_engines(register):
        pass

    plugin_host = PluginHost()
    plugin_host.register(_module_plugin(litert_register_passes=Hooks().litert_register_passes,
                                        litert_register_reference_engines=litert_register_reference_engines,
                                        hookimpl=hookimpl, CONSTANT=3), "module-hooks")
    assert "tag_general" in plugin_host.passes
    assert {c.name for c in plugin_host.pm.get_hookcallers(plugin_host.pm.get_plugin("module-hooks"))} == {
        "litert_register_passes", "litert_register_reference_engines"}

    @hookimpl
    def litert_register_widgets(register):
        pass

    with pytest.raises(pluggy.PluginValidationError, match="litert_register_widgets"):
        PluginHost().register(_module_plugin(litert_register_widgets=litert_register_widgets), "typo")


def test_plugin_names_that_match_nothing_installed_are_named_in_one_warning():
    """``LITERT_PLUGINS`` listing a name no entry point or distribution has (a misspelling, or ``onnx`` from before
    litert-formats registered its formats from one entry point) says so; names that match say nothing."""
    import os
    import subprocess
    import sys

    code = "from litert.plugins import host; print(sorted(host().frontends))"

    def run(allow: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "LITERT_PLUGINS": allow}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)

    stale = run("onnx,cpu,litert-nosuch")
    assert stale.stdout.strip() == "[]"
    [line] = [line for line in stale.stderr.splitlines() if "LITERT_PLUGINS" in line]
    assert "names litert-nosuch, onnx:" in line and "formats" in line
    fine = run("formats,litert-cpu")
    assert "onnx" in fine.stdout and "LITERT_PLUGINS" not in fine.stderr
