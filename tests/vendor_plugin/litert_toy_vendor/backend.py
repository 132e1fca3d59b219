"""The toy backend: a 'device' with its own tensor type that runs a few ops.

It supports only Relu, Add, Mul and Sigmoid on float32, holds results in
:class:`ToyTensor` (device memory, as far as litert knows), and counts what
it ran so tests can see the partition and the copies.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from litert.backend import Availability, Backend, CompileContext, CompiledPartition, DeviceTensor, NodeHooks
from litert.ir import DType, Graph, Node

_OPS = {
    "Relu": lambda x: np.maximum(x, 0),
    "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "Add": np.add,
    "Mul": np.multiply,
}


class ToyTensor(DeviceTensor):
    def __init__(self, array: np.ndarray):
        self._array = array

    @property
    def shape(self):
        return self._array.shape

    @property
    def dtype(self):
        return DType.from_numpy(self._array.dtype)

    @property
    def device(self):
        return "toy"

    def to_host(self) -> np.ndarray:
        ToyBackend.copies_out += 1
        return self._array.copy()


class ToyPartition(CompiledPartition):
    def __init__(self, graph: Graph):
        self.graph = graph

    def prepare(self, subgraph: Graph) -> bool:
        """The toy ops are elementwise on whatever shape arrives: nothing to redo."""
        self.graph = subgraph
        ToyBackend.prepared += 1
        return True

    def run(self, inputs: Mapping[str, Any], hooks: NodeHooks | None = None) -> dict[str, Any]:
        env = {name: value._array if isinstance(value, ToyTensor) else value for name, value in inputs.items()}
        for name, value in self.graph.values.items():
            if value.is_const:
                env[name] = value.const
        for node in self.graph.nodes:
            if hooks:
                hooks.before_node(node, "toy")
            env[node.outputs[0]] = _OPS[node.op_type](*[env[n] for n in node.inputs]).astype(np.float32)
            ToyBackend.nodes_run += 1
            if hooks:
                hooks.after_node(node, "toy", [env[node.outputs[0]]])
        return {name: ToyTensor(env[name]) for name in self.graph.outputs}


class ToyBackend(Backend):
    name = "toy"
    priority = 50
    nodes_run = 0
    compiled = 0
    prepared = 0
    copies_in = 0
    copies_out = 0
    #: as TFLite delegates' options: smaller partitions are declined, and only the largest ones kept
    min_partition_nodes = 1
    max_partitions: int | None = None

    def probe(self) -> Availability:
        return Availability(True, "simulated device")

    def supported_ops(self) -> set[tuple[str, str]]:
        return {("", op) for op in _OPS}

    def check_node(self, node: Node, graph: Graph) -> str | None:
        reason = super().check_node(node, graph)
        if reason:
            return reason
        for name in node.inputs:
            value = graph.values.get(name)
            if value is not None and value.dtype is not None and value.dtype is not DType.FLOAT32:
                return f"dtype {value.dtype} not supported"
        return None

    def decline_partitions(self, subgraphs: list[Graph]) -> dict[int, str]:
        declined = {i: f"{len(g.nodes)} node(s), under min_partition_nodes={self.min_partition_nodes}"
                    for i, g in enumerate(subgraphs) if len(g.nodes) < self.min_partition_nodes}
        if self.max_partitions is not None:
            kept = [i for i in sorted(range(len(subgraphs)), key=lambda i: -len(subgraphs[i].nodes))
                    if i not in declined]
            for i in kept[self.max_partitions:]:
                declined[i] = f"max_partitions={self.max_partitions}: the largest partitions are kept"
        return declined

    def compile(self, subgraph: Graph, ctx: CompileContext) -> CompiledPartition:
        ToyBackend.compiled += 1
        return ToyPartition(subgraph)

    def from_host(self, array: np.ndarray) -> Any:
        ToyBackend.copies_in += 1
        return ToyTensor(np.asarray(array))
