"""Plugin API 2 details not tied to the vendor package: pass levels, probe isolation."""
from __future__ import annotations

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
