"""Shape-op simplification: remove no-op nodes and merge chains of reshapes."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Model, Node
from .base import Pass, PassContext, PassResult, Renames, const_of, read_by_subgraph

#: ops that are the identity at inference time (Dropout's mask output unused)
_IDENTITY_LIKE = {"Identity", "Dropout"}
#: ops that are no-ops when their output has their input's shape
_RESHAPES = ("Reshape", "Squeeze", "Unsqueeze", "Flatten", "Expand")
#: every op :meth:`ShapeSimplification._is_noop` may remove: a graph without any is left as it is, without use maps
_REMOVABLE = (*_IDENTITY_LIKE, *_RESHAPES, "Transpose", "Cast")


class ShapeSimplification(Pass):
    """Drop identity-like nodes and shape ops that leave the shape as it is, then merge Reshape chains."""

    name = "shape_simplification"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        if not any(self._is_noop(node, graph, None) for node in graph.nodes):  # no use maps to build
            self._merge_reshapes(graph, result)
            return result
        consumers = graph.consumers()
        kept = []
        renames = Renames()  # every reader of a removed node's output reads its input instead
        for node in graph.nodes:
            renames.resolve(node)
            if (
                self._is_noop(node, graph, consumers)
                and node.outputs[0] not in graph.outputs
                and not read_by_subgraph(consumers, node.outputs[0])
            ):
                renames.add(node.outputs[0], node.inputs[0])
                result.record(f"{node.op_type} removed")
                continue
            kept.append(node)
        graph.nodes = kept
        renames.apply(graph)
        self._merge_reshapes(graph, result)
        return result

    @staticmethod
    def _is_noop(node: Node, graph: Graph, consumers: dict[str, list[Node]] | None) -> bool:
        """Whether ``node`` does nothing; without ``consumers``, whether it may (its extra outputs' readers,
        which only the use map knows, aside): the pass builds that map only when some node may."""
        if node.op_type not in _REMOVABLE or node.domain != "" or not node.inputs or not node.inputs[0]:
            return False
        if node.op_type in _IDENTITY_LIKE:
            if consumers is None:
                return True
            extra_used = any(consumers.get(o) or o in graph.outputs for o in node.outputs[1:] if o)
            return not extra_used and graph.values.get(node.inputs[0]) is not None and graph.values[node.inputs[0]].kind == "tensor"
        source, target = graph.values.get(node.inputs[0]), graph.values.get(node.outputs[0])
        if node.op_type in _RESHAPES and source and target:
            return bool(source.is_static and target.is_static and source.shape == target.shape)
        if node.op_type == "Transpose":
            perm = node.attrs.get("perm")
            return perm is not None and list(perm) == list(range(len(perm)))
        if node.op_type == "Cast" and source and source.dtype is not None:
            return bool(source.dtype.value == node.attrs.get("to"))
        return False

    @staticmethod
    def _merge_reshapes(graph: Graph, result: PassResult) -> None:
        """Reshape(Reshape(x, s1), s2) -> Reshape(x, s2) when s2 is constant and has no 0."""
        reshaped = {node.outputs[0] for node in graph.nodes if node.op_type == "Reshape" and node.domain == ""}
        if not any(node.op_type == "Reshape" and node.inputs[0] in reshaped for node in graph.nodes):
            return  # no chain (ShuffleNet's Reshapes each follow a Conv or a Transpose): no use maps to build
        producers = graph.producers()
        consumers = graph.consumers()
        for node in graph.nodes:
            if node.op_type != "Reshape" or node.domain != "":
                continue
            first = producers.get(node.inputs[0])
            shape = const_of(graph, node.inputs[1]) if len(node.inputs) > 1 else None
            if first is None or first.op_type != "Reshape" or shape is None or np.any(shape == 0):
                continue
            if len(consumers.get(first.outputs[0], [])) != 1:
                continue
            node.inputs[0] = first.inputs[0]
            result.record("Reshape chain merged")


def drop_identities(graph: Graph) -> None:
    """Identity / Dropout removed in place, for a writer whose format has no such operator: readers read the
    input instead, and an Identity that writes a graph output renames its input's producer's output to it (an
    Identity of a graph input or constant stays, for the writer to report).  Unlike :class:`ShapeSimplification`
    the graph's output names are kept."""
    producers = {o: n for n in graph.nodes for o in n.outputs if o}
    kept = []
    for node in graph.nodes:
        if node.domain or node.op_type not in _IDENTITY_LIKE or len([o for o in node.outputs if o]) != 1:
            kept.append(node)
            continue
        src, out = node.inputs[0], node.outputs[0]
        if out not in graph.outputs:
            for n in graph.nodes:
                n.inputs = [src if i == out else i for i in n.inputs]
            continue
        producer = producers.get(src)
        if producer is not None and src not in graph.outputs and src not in graph.inputs:
            producer.outputs = [out if o == src else o for o in producer.outputs]
            for n in graph.nodes:
                n.inputs = [out if i == src else i for i in n.inputs]
            producers[out] = producer
            continue
        kept.append(node)
    graph.nodes = kept
