"""``litert.convert``: read a model, optimise it, write it in another format."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .errors import InputError, PluginError, UnsupportedOperatorError
from .formats import LoadOptions, Serializer, by_name_or_suffix
from .ir import Model, Shape
from .limits import fold_limit, human_bytes
from .passes import PassContext, PassResult, run_pipeline
from .passes.constant_folding import left_unfolded_by_limit
from .plugins import host
from .record import Record
from .runtime.loading import read_model

#: ``Model.metadata`` key the ``.ms`` reader fills and the ``.ms`` writer reads: the layout of 4-D inputs
INPUT_FORMAT_KEY = "ms.input_format"
#: ``Model.metadata`` key the ``.ms`` writer reads: "on" stores float32 constants as float16 (converter_lite's
#: ``--fp16=on``)
WEIGHT_FP16_KEY = "ms.weight_fp16"


class ConversionReport(Record):
    """What :func:`convert` did: the files, the node counts before and after, each pass's changes."""

    FIELDS = ("source", "output", "nodes_before", "nodes_after", "passes")

    def __init__(self, source: str, output: str, nodes_before: int, nodes_after: int,
                 passes: list[PassResult] | None = None) -> None:
        self.source = source
        self.output = output
        self.nodes_before = nodes_before
        self.nodes_after = nodes_after
        self.passes: list[PassResult] = [] if passes is None else passes

    def lines(self) -> list[str]:
        return [f"{self.source} -> {self.output}: {self.nodes_before} nodes -> {self.nodes_after}"] + [
            f"  {p}" for p in self.passes
        ]


def find_serializer(path: Path, fmt: str | None = None) -> Serializer:
    serializers = host().serializers
    serializer = by_name_or_suffix(serializers, path, fmt, "writer")
    if serializer is not None:
        return serializer
    suffix = path.suffix.lower()
    raise PluginError(
        f"{path}: no writer for suffix {suffix or '(none)'!r} "
        f"(known: {', '.join(s for w in serializers.values() for s in w.extensions) or 'none'})"
    )


def optimize_model(model: Model, level: str = "general") -> list[PassResult]:
    """Lower and (at ``general``) optimise ``model`` in place; folding runs on the CPU backend."""
    cpu = host().backends.get("cpu")
    ctx = PassContext(evaluator=cpu.evaluator() if cpu else None)
    return run_pipeline(model, level, ctx, list(host().passes.values()))


def _name_the_fold_limit(err: UnsupportedOperatorError, model: Model) -> UnsupportedOperatorError:
    """``err`` for a node that only the constant-folding limit kept from becoming a constant, with that said."""
    node = next((n for n in model.graph.nodes if err.node and n.name == err.node), None)
    size = None if node is None else left_unfolded_by_limit(node, model.graph, fold_limit())
    if size is None:
        return err
    return UnsupportedOperatorError(
        f"{err}; it has only constant inputs but was not folded into a constant because its output "
        f"({human_bytes(size)}) is over the constant-folding limit of {human_bytes(fold_limit())}: "
        f"raise the limit with LITERT_FOLD_LIMIT (e.g. LITERT_FOLD_LIMIT={_suggest(size)})",
        node=err.node, op_type=err.op_type, domain=err.domain)


def _suggest(size: int) -> str:
    """A ``LITERT_FOLD_LIMIT`` value that covers ``size`` bytes: the next power of two, with a unit."""
    power = max(size - 1, 1).bit_length()
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if power >= shift:
            return f"{2 ** (power - shift)}{unit}"
    return str(2 ** power)


def convert(
    source: str | Path,
    output: str | Path,
    *,
    fmk: str | None = None,
    output_format: str | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    optimize_level: str = "general",
    input_format: str | None = None,
    weight_file: str | Path | None = None,
    weight_fp16: bool = False,
) -> ConversionReport:
    """Convert ``source`` to ``output`` (format from ``output_format`` or the suffix).

    :param input_format: ``"NHWC"`` or ``"NCHW"``, the layout of 4-D inputs in
        a ``.ms`` output (default NHWC, as MindSpore Lite's converter).
    :param weight_file: the weights of a Caffe net (default: the ``.caffemodel`` beside it).
    :param weight_fp16: ``.ms`` output: float32 constants stored as float16 (converter_lite's ``--fp16=on``;
        integer and quantised constants stay as they are).
    """
    output = Path(output)
    serializer = find_serializer(output, output_format)
    if input_format is not None:
        input_format = input_format.upper()
        if serializer.name != "ms":
            raise InputError(f"input format (--input-format) applies to .ms output, not {serializer.name}")
        if input_format not in ("NHWC", "NCHW"):
            raise InputError(f"input format {input_format!r}: NHWC or NCHW")
    if weight_fp16 and serializer.name != "ms":
        raise InputError(f"float16 constants (--fp16) apply to .ms output, not {serializer.name}")
    model = read_model(source, fmk, LoadOptions(input_shapes=dict(input_shapes or {}),
                                               weight_file=Path(weight_file) if weight_file else None))
    if input_format is not None:
        model.metadata[INPUT_FORMAT_KEY] = input_format
    if weight_fp16:
        model.metadata[WEIGHT_FP16_KEY] = "on"
    before = len(model.graph.nodes)
    results = optimize_model(model, optimize_level)
    try:
        serializer.save(model, output)
    except UnsupportedOperatorError as err:
        raise _name_the_fold_limit(err, model) from None
    return ConversionReport(str(source), str(output), before, len(model.graph.nodes), results)
