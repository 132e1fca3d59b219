"""``litert info``."""
from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

from ._args import add_precision_argument

if TYPE_CHECKING:
    from litert.ir import Model


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model file")
    parser.add_argument("--fmk", help="source format when the suffix does not tell")
    parser.add_argument("--weight-file", "--weightFile", dest="weight_file",
                        help="Caffe: the .caffemodel of the .prototxt (default: the one beside it)")
    parser.add_argument("--json", action="store_true")
    add_precision_argument(parser)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import litert
    from litert.formats import LoadOptions
    from litert.memory import plan
    from litert.quant.inspect import quantised_weights, summary
    from litert.runtime.session import TensorInfo
    from litert.schema.inference import infer_shapes

    model = litert.read_model(args.model, args.fmk,
                              LoadOptions(weight_file=Path(args.weight_file) if args.weight_file else None))
    graph = model.graph
    infer_shapes(graph)
    histogram = Counter(n.qualified_op for n in graph.nodes)
    memory = plan(graph)
    quantised = quantised_weights(graph)
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
        "quantization": summary(quantised),
        "quantized_weights": [w.to_dict() for w in quantised],
        "planned_arena_bytes": memory.peak_bytes,
        "naive_activation_bytes": memory.naive_bytes,
        "unknown_size_tensors": len(memory.unknown),
        "metadata": model.metadata,
        "precision": _precision(args),
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
    print(f"quant:    {info['quantization']}")
    for line in _format_lines(model):
        print(line)
    print(f"memory:   {memory.summary()}")
    print(f"compute:  {info['precision']}")
    print("operators:")
    for op, count in histogram.most_common():
        print(f"  {op:<28} {count}")
    return 0


#: metadata a frontend records about its file format (key prefix = format name), in print order
_FORMAT_FIELDS = {"ms": ("version", "fmk_type", "weight_bytes", "weight_quant", "fp16_constants", "tensors", "subgraphs", "input_formats",
                         "primitives")}


def _format_lines(model: Model) -> list[str]:
    """Lines of format-specific facts, e.g. for a .ms: version, fmk type, weight bytes, primitive histogram."""
    prefix = model.source_format
    lines = []
    for field in _FORMAT_FIELDS.get(prefix, ()):
        value = model.metadata.get(f"{prefix}.{field}")
        if value is not None:
            lines.append(f"{prefix} {field.replace('_', ' ') + ':':<14} {value}")
    return lines


def _precision(args: argparse.Namespace) -> str:
    """What a session computes in: fp32 by default, else compiled with ``--precision`` to say what is used."""
    if args.precision == "fp32":
        return "fp32 (--precision bf16|fp16 shows what reduced precision this machine runs)"
    import litert

    session = litert.load(args.model, fmk=args.fmk, weight_file=args.weight_file, precision=args.precision)
    return session.precision
