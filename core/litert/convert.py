"""``litert.convert``: read a model, optimise it, write it in another format."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, PluginError
from .formats import LoadOptions, Serializer
from .ir import Model, Shape
from .passes import PassContext, PassResult, run_pipeline
from .plugins import host
from .runtime.loading import read_model

#: ``Model.metadata`` key the ``.ms`` reader fills and the ``.ms`` writer reads: the layout of 4-D inputs
INPUT_FORMAT_KEY = "ms.input_format"


@dataclass
class ConversionReport:
    source: str
    output: str
    nodes_before: int
    nodes_after: int
    passes: list[PassResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{self.source} -> {self.output}: {self.nodes_before} nodes -> {self.nodes_after}"] + [
            f"  {p}" for p in self.passes
        ]


def find_serializer(path: Path, fmt: str | None = None) -> Serializer:
    serializers = host().serializers
    if fmt:
        if fmt not in serializers:
            raise PluginError(f"no writer for format {fmt!r} (installed: {', '.join(sorted(serializers)) or 'none'})")
        return serializers[fmt]
    suffix = path.suffix.lower()
    for serializer in serializers.values():
        if suffix in serializer.extensions:
            return serializer
    raise PluginError(
        f"{path}: no writer for suffix {suffix or '(none)'!r} "
        f"(known: {', '.join(s for w in serializers.values() for s in w.extensions) or 'none'})"
    )


def optimize_model(model: Model, level: str = "general") -> list[PassResult]:
    """Lower and (at ``general``) optimise ``model`` in place; folding runs on the CPU backend."""
    cpu = host().backends.get("cpu")
    ctx = PassContext(evaluator=cpu.evaluator() if cpu else None)
    return run_pipeline(model, level, ctx, list(host().passes.values()))


def convert(
    source: str | Path,
    output: str | Path,
    *,
    fmk: str | None = None,
    output_format: str | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    optimize_level: str = "general",
    input_format: str | None = None,
) -> ConversionReport:
    """Convert ``source`` to ``output`` (format from ``output_format`` or the suffix).

    :param input_format: ``"NHWC"`` or ``"NCHW"``, the layout of 4-D inputs in
        a ``.ms`` output (default NHWC, as MindSpore Lite's converter).
    """
    output = Path(output)
    serializer = find_serializer(output, output_format)
    if input_format is not None:
        input_format = input_format.upper()
        if serializer.name != "ms":
            raise InputError(f"input format (--input-format) applies to .ms output, not {serializer.name}")
        if input_format not in ("NHWC", "NCHW"):
            raise InputError(f"input format {input_format!r}: NHWC or NCHW")
    model = read_model(source, fmk, LoadOptions(input_shapes=dict(input_shapes or {})))
    if input_format is not None:
        model.metadata[INPUT_FORMAT_KEY] = input_format
    before = len(model.graph.nodes)
    results = optimize_model(model, optimize_level)
    serializer.save(model, output)
    return ConversionReport(str(source), str(output), before, len(model.graph.nodes), results)
