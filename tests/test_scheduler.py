"""Placement, partitioning and the memory plan, on hand-built graphs."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.graphs import make_model, mixed_model, reference_mixed

from litert.backend import Availability, Backend
from litert.ir import Node
from litert.memory import plan
from litert.plugins import host
from litert.runtime import Session
from litert.scheduler import schedule


class OnlyAdd(Backend):
    """A backend that takes Add nodes only (for partition tests)."""

    name = "only_add"
    priority = 10

    def probe(self):
        return Availability(True)

    def supported_ops(self):
        return {("", "Add")}

    def compile(self, subgraph, ctx):  # never compiled in these tests
        raise AssertionError


def test_partitions_are_maximal_and_placement_names_reasons():
    nodes = [Node("Add", ["x", "x"], ["a"]), Node("Add", ["a", "x"], ["b"]), Node("Relu", ["b"], ["c"]),
             Node("Add", ["c", "c"], ["d"])]
    model = make_model(nodes, {"x": (2, 2)}, ["d"])
    cpu = host().backend("cpu")
    result = schedule(model.graph, [OnlyAdd(), cpu])
    assert [(p.backend, len(p.graph.nodes)) for p in result.partitions] == [("only_add", 2), ("cpu", 1), ("only_add", 1)]
    relu = result.placements[2]
    assert relu.backend == "cpu" and "Relu" in relu.refused["only_add"]
    assert [(c.value, c.source, c.target) for c in result.copies] == [
        ("x", "cpu", "only_add"), ("b", "only_add", "cpu"), ("c", "cpu", "only_add"), ("d", "only_add", "cpu")]
    assert result.summary_lines(["only_add", "cpu"])[0].startswith("only_add: 3/4 nodes, 2 partitions")


def test_independent_branches_join_one_partition():
    # two parallel Relu branches separated in topological order by an Add
    nodes = [Node("Relu", ["x"], ["r1"]), Node("Add", ["x", "x"], ["a"]), Node("Relu", ["a"], ["r2"]),
             Node("Add", ["r1", "r2"], ["y"])]
    model = make_model(nodes, {"x": (4,)}, ["y"])
    result = schedule(model.graph, [OnlyAdd(), host().backend("cpu")])
    # Kahn's walk keeps extending the current backend: Relu(x) waits for the cpu run
    assert len(result.partitions) == 4 or len(result.partitions) == 3
    backends = [p.backend for p in result.partitions]
    assert all(a != b for a, b in zip(backends, backends[1:])), backends


def test_memory_plan_reuses_buffers():
    nodes = [Node("Relu", ["x"], ["a"]), Node("Relu", ["a"], ["b"]), Node("Relu", ["b"], ["c"]), Node("Relu", ["c"], ["y"])]
    model = make_model(nodes, {"x": (1, 1024)}, ["y"])
    for name in "abcy":
        model.graph.values[name].shape = (1, 1024)
        model.graph.values[name].dtype = model.graph.values["x"].dtype
    result = plan(model.graph)
    assert result.naive_bytes == 5 * 4096
    # a chain needs two buffers: each node reads one and writes the other
    assert result.peak_bytes == 2 * 4096
    offsets = result.offsets
    assert offsets["a"][0] != offsets["b"][0]
    assert result.complete


def test_cpu_runs_hand_built_graph():
    model, x = mixed_model()
    session = Session(model, devices=["cpu"])
    [y] = session.predict([x])
    np.testing.assert_allclose(y, reference_mixed(0, x), rtol=1e-5, atol=1e-6)
    assert {p.backend for p in session.placement} == {"cpu"}
    assert session.memory_plan.peak_bytes < session.memory_plan.naive_bytes


def test_unknown_device_is_a_clear_error():
    from litert.errors import PluginError

    model, _ = mixed_model()
    with pytest.raises(PluginError, match="no backend named 'tpu'"):
        Session(model, devices=["tpu"])


def test_one_backend_keeps_file_order_and_orders_nodes_out_of_it():
    """On one backend a graph in order is one partition in file order (the walk's result, without its heaps); a
    graph out of order still gets a topological order."""
    cpu = host().backend("cpu")
    nodes = [Node("Relu", ["x"], ["a"]), Node("Add", ["a", "x"], ["b"]), Node("Relu", ["b"], ["y"])]
    in_order = schedule(make_model(nodes, {"x": (2,)}, ["y"]).graph, [cpu])
    assert [[n.outputs[0] for n in p.graph.nodes] for p in in_order.partitions] == [["a", "b", "y"]]
    shuffled = make_model(nodes, {"x": (2,)}, ["y"]).graph
    shuffled.nodes = [shuffled.nodes[2], shuffled.nodes[0], shuffled.nodes[1]]
    result = schedule(shuffled, [cpu])
    assert [[n.outputs[0] for n in p.graph.nodes] for p in result.partitions] == [["a", "b", "y"]]


def test_attribute_defaults_are_each_nodes_own():
    """A node's list default is its own copy: a kernel editing it edits neither the registry nor another node."""
    from litert.schema import schemas

    first, second = Node("MeanVarianceNormalization", ["x"], ["y"]), Node("MeanVarianceNormalization", ["y"], ["z"])
    for node in (first, second):
        schemas().complete_attrs(node)
    first.attrs["axes"].append(7)
    assert second.attrs["axes"] == [0, 2, 3]
    assert schemas().latest("", "MeanVarianceNormalization").attrs["axes"].default == [0, 2, 3]
