"""``litert info``."""
from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litert.ir import Model


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model file")
    parser.add_argument("--fmk", help="source format when the suffix does not tell")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    import json

    import litert
    from litert.memory import plan
    from litert.runtime.session import TensorInfo
    from litert.schema.inference import infer_shapes

    model = litert.read_model(args.model, args.fmk)
    graph = model.graph
    infer_shapes(graph)
    histogram = Counter(n.qualified_op for n in graph.nodes)
    memory = plan(graph)
    info: dict[str, Any] = {
        "model": str(args.model),
        "format": model.source_format,
        "producer": model.producer,
        "opsets": model.opsets,
        "inputs": [str(TensorInfo(n, graph.values[n].shape, graph.values[n].dtype)) for n in graph.inputs],
        "outputs": [str(TensorInfo(n, graph.values[n].shape, graph.values[n].dtype)) for n in graph.outputs],
        "nodes": len(graph.nodes),
        "operators": dict(histogram.most_common()),
        "weights_bytes": graph.weight_bytes(),
        "planned_arena_bytes": memory.peak_bytes,
        "naive_activation_bytes": memory.naive_bytes,
        "unknown_size_tensors": len(memory.unknown),
        "metadata": model.metadata,
    }
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"model:    {info['model']} ({info['format']}, producer {info['producer'] or '?'})")
    opsets = ", ".join(f"{d or 'ai.onnx'}={v}" for d, v in model.opsets.items())
    print(f"opsets:   {opsets}")
    for line in info["inputs"]:
        print(f"input     {line}")
    for line in info["outputs"]:
        print(f"output    {line}")
    print(f"nodes:    {info['nodes']}; weights {info['weights_bytes'] / 2**20:.2f} MiB")
    for line in _format_lines(model):
        print(line)
    print(f"memory:   {memory.summary()}")
    print("operators:")
    for op, count in histogram.most_common():
        print(f"  {op:<28} {count}")
    return 0


#: metadata a frontend records about its file format (key prefix = format name), in print order
_FORMAT_FIELDS = {"ms": ("version", "fmk_type", "weight_bytes", "tensors", "subgraphs", "input_formats", "primitives")}


def _format_lines(model: Model) -> list[str]:
    """Lines of format-specific facts, e.g. for a .ms: version, fmk type, weight bytes, primitive histogram."""
    prefix = model.source_format
    lines = []
    for field in _FORMAT_FIELDS.get(prefix, ()):
        value = model.metadata.get(f"{prefix}.{field}")
        if value is not None:
            lines.append(f"{prefix} {field.replace('_', ' ') + ':':<14} {value}")
    return lines
