"""The toy model format (``.toyjson``): a vendor's own reader, writer, graph pass and reference engine.

A toy model is JSON: ``{"format": "toy", "inputs": {name: shape}, "nodes": [[op, inputs, outputs], ...],
"outputs": [...], "metadata": {...}}``, float32 tensors and the toy device's ops only, no constants.  It
is small on purpose: it exercises the format, pass and reference-engine hooks of the plugin contract.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from litert.atomic import write_text
from litert.benchmark.comparison import ReferenceEngine
from litert.errors import ModelLoadError, UnsupportedOperatorError
from litert.formats import Frontend, LoadOptions, Serializer
from litert.ir import DType, Graph, Model, Node, Value
from litert.passes.base import Pass, PassContext, PassResult

from .backend import _OPS

SUFFIX = ".toyjson"
#: the metadata key the toy pass fills (the number of nodes it saw)
SEEN_KEY = "toy.pass.nodes_seen"


def _read(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"{path}: not a toy model ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != "toy":
        raise ModelLoadError(f"{path}: not a toy model (no \"format\": \"toy\")")
    return doc


class ToyFrontend(Frontend):
    name = "toy"
    extensions = (SUFFIX,)

    def sniff(self, head: bytes) -> bool:
        return head.lstrip().startswith(b'{"format": "toy"')

    def load(self, path: Path, options: LoadOptions) -> Model:
        doc = _read(path)
        values = {n: Value(n, DType.FLOAT32, tuple(shape)) for n, shape in doc["inputs"].items()}
        nodes = [Node(op, list(ins), list(outs), {}, f"{op.lower()}_{i}") for i, (op, ins, outs) in enumerate(doc["nodes"])]
        graph = Graph(nodes=nodes, inputs=list(doc["inputs"]), outputs=list(doc["outputs"]), values=values, name="toy")
        return Model(graph=graph, opsets={"": 17}, producer="toy", source_format="toy", metadata=dict(doc.get("metadata", {})))


class ToySerializer(Serializer):
    name = "toy"
    extensions = (SUFFIX,)

    def save(self, model: Model, path: Path) -> None:
        graph = model.graph
        for node in graph.nodes:
            if node.domain or node.op_type not in _OPS:
                raise UnsupportedOperatorError(f"node {node.name!r}: the toy format has no {node.qualified_op}",
                                               node=node.name, op_type=node.op_type, domain=node.domain)
        doc = {"format": "toy", "inputs": {n: list(graph.value(n).shape or ()) for n in graph.inputs},
               "nodes": [[n.op_type, n.inputs, n.outputs] for n in graph.nodes], "outputs": graph.outputs,
               "metadata": model.metadata}
        write_text(path, json.dumps(doc))


class ToyCountingPass(Pass):
    """A general-level pass that changes nothing and records how many nodes it saw."""

    name = "toy_counting"
    level = "general"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        model.metadata[SEEN_KEY] = str(len(model.graph.nodes))
        return PassResult(self.name)


def run_reference(path: Path, feeds: Mapping[str, np.ndarray], threads: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every tensor of a toy model, computed with numpy in float64 (the reference ``litert compare`` runs)."""
    doc = _read(path)
    tensors = {name: np.asarray(feeds[name], np.float64) for name in doc["inputs"]}
    for op, ins, outs in doc["nodes"]:
        tensors[outs[0]] = _OPS[op](*(tensors[i] for i in ins))
    return {k: v.astype(np.float32) for k, v in tensors.items()}, list(doc["outputs"])


TOY_REFERENCE = ReferenceEngine("toy-numpy", run_reference, suffixes=(SUFFIX,))
