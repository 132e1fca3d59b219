"""``litert.quantize``: post-training quantisation driven by MindSpore Lite's config file.

read -> prepare (lowering, folding, BatchNorm folding; no activation fusion, so the graph stays plain
ONNX) -> calibrate (FULL_QUANT) -> rewrite to QDQ form -> write atomically.
"""
from __future__ import annotations

import copy
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, LitertError, QuantConfigError
from ..formats import LoadOptions
from ..ir import Model, Shape
from ..passes import GENERAL, LOWERING, PassContext
from ..passes.dce import DeadCodeElimination
from ..passes.fusion import ActivationFusion, ResidualFusion
from ..plugins import host
from ..runtime.loading import read_model
from .calibration import CalibrationSet, input_specs
from .config import QuantConfig, load_config
from .rewrite import RewriteReport, plan_nodes, quantize_dynamic, quantize_full, quantize_weights
from .statistics import RANGE_METHODS, StatisticsHook, TensorStats


class QuantConfigWarning(UserWarning):
    """A config key or section that litert accepts but that changes nothing here."""


#: quantisation types each writer cannot express
_NOT_WRITTEN: dict[str, tuple[str, ...]] = {}

#: passes that write contrib (com.microsoft) ops; quantisation runs before them so its output is plain ONNX
_FUSIONS = (ActivationFusion, ResidualFusion)


@dataclass
class QuantReport:
    source: str
    output: str
    quant_type: str
    quantised_nodes: int
    skipped: list[str] = field(default_factory=list)
    no_effect: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0
    #: (node label, op type, float output tensor, its int8 tensor or None) per quantised layer
    layers: list[Any] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{self.source} -> {self.output}: {self.quant_type}, {self.quantised_nodes} node(s) quantised"
        if self.samples:
            head += f", calibrated on {self.samples} sample(s)"
        return [head] + [f"  kept float: {line}" for line in self.skipped]


def prepare(model: Model) -> None:
    """Lower and fold the float model; BatchNorm folds into Conv before its weights are quantised."""
    cpu = host().backends.get("cpu")
    ctx = PassContext(evaluator=cpu.evaluator() if cpu else None)
    for cls in LOWERING + tuple(p for p in GENERAL if p not in _FUSIONS):
        cls().run(model, ctx)


def quantize_model(model: Model, config: QuantConfig, progress: bool | None = None) -> QuantReport:
    """Quantise ``model`` in place as ``config`` says; return what was done."""
    prepare(model)
    graph = model.graph
    names = {node.name for node in graph.nodes}
    unknown = sorted(config.skip_nodes - names)
    if unknown:
        config.no_effect.append(f"[common_quant_param] skip_quant_node names no node of the model: {', '.join(unknown)}")
    plans = plan_nodes(graph, config.skip_nodes)
    report = RewriteReport()
    samples = 0
    common = config.values["common_quant_param"]
    if config.quant_type == "WEIGHT_QUANT":
        quantize_weights(graph, plans, config.bit_num, config.per_channel, common["min_quant_weight_size"],
                         common["min_quant_weight_channel"], report)
    elif config.quant_type == "FULL_QUANT":
        watched = {p.activation for p in plans} | {p.output for p in plans}
        calibration = CalibrationSet(config.preprocess, input_specs(graph))
        samples = len(calibration)
        stats = calibrate(model, calibration, watched, config.activation_method != "MAX_MIN", progress)
        method = RANGE_METHODS[config.activation_method]
        ranges = {name: method(s) for name, s in stats.items()}
        quantize_full(graph, plans, ranges, config.per_channel, report)
    else:
        quantize_dynamic(graph, plans, report)
    DeadCodeElimination().run(model, PassContext())  # the float weights the int ones replace
    _set_qdq_opset(model)
    quantised = len({row["NodeName"] for row in report.rows if row["Kind"] == "Weight"})
    return QuantReport("", "", config.quant_type, quantised, report.skipped, list(config.no_effect), report.rows,
                       samples, report.layers)


def calibrate(model: Model, calibration: CalibrationSet, watched: set[str], histograms: bool,
              progress: bool | None = None) -> dict[str, TensorStats]:
    """Run the float model over the calibration set (twice with histograms); return per-tensor statistics."""
    from tqdm import tqdm

    from ..runtime import Session

    session = Session(copy.deepcopy(model), devices=["cpu"], optimize_level="none")
    hook = StatisticsHook(watched)
    passes = [("calibrating (min/max)", False)] + ([("calibrating (histograms)", True)] if histograms else [])
    for description, with_histograms in passes:
        hook.with_histograms = with_histograms
        for sample in tqdm(calibration, desc=description, total=len(calibration), disable=_quiet(progress),
                           unit="sample"):
            session.predict(sample, hooks=hook)
            for name in watched & set(sample):  # graph inputs are read by nodes, not produced by them
                hook.observe(name, sample[name])
    return hook.stats


def _quiet(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None shows the bar only on a terminal."""
    return None if progress is None else not progress


#: the newest default-domain opset whose QuantizeLinear/DequantizeLinear onnxruntime (1.2x) runs
QDQ_OPSET = 25
#: ops whose versions after QDQ_OPSET only add element types (int2/uint2, float8e8m0)
_TYPES_ONLY_AFTER_QDQ_OPSET = frozenset({"QuantizeLinear", "DequantizeLinear", "Cast"})


def _set_qdq_opset(model: Model) -> None:
    """Per-channel QDQ needs opset 13; readers upgrade to the newest opset, which onnxruntime may not run
    quantised.  Step down to QDQ_OPSET when no op of the graph changed after it (so meaning is kept)."""
    from ..schema.registry import schemas

    registry = schemas()
    current = int(model.opsets.get("", QDQ_OPSET))
    if current <= QDQ_OPSET:
        model.opsets[""] = max(current, 13)
        return
    for node in model.graph.nodes:
        if node.domain not in ("", "ai.onnx") or node.op_type in _TYPES_ONLY_AFTER_QDQ_OPSET:
            continue
        if registry.get("", node.op_type, current).since > QDQ_OPSET:
            return
    model.opsets[""] = QDQ_OPSET


def save_atomically(model: Model, output: Path, output_format: str | None = None) -> None:
    """Write ``model`` to a temporary file in the output's folder, then rename it into place."""
    from ..convert import find_serializer

    serializer = find_serializer(output, output_format)
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise LitertError(f"{output}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=output.suffix, dir=folder)
    os.close(handle)
    try:
        serializer.save(model, Path(temporary))
        os.replace(temporary, output)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def quantize(
    source: str | Path,
    output: str | Path,
    config: str | Path | QuantConfig,
    *,
    fmk: str | None = None,
    output_format: str | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    progress: bool | None = None,
    weight_fp16: bool = False,
) -> QuantReport:
    """Quantise the model in ``source`` as MindSpore Lite's config file ``config`` says; write ``output``.

    ``weight_fp16`` (``.ms`` output, converter_lite's ``--fp16=on``, lowest priority): the float32 constants
    quantisation leaves (layers kept float) are stored as float16.  Keys the config gives that have no effect
    here are issued as :class:`QuantConfigWarning`.  Nothing is written when any step fails.
    """
    config = config if isinstance(config, QuantConfig) else load_config(config)
    output = Path(output)
    from ..convert import WEIGHT_FP16_KEY, find_serializer

    if config.quant_type in _NOT_WRITTEN.get(find_serializer(output, output_format).name, ()):
        raise QuantConfigError(f"{config.source}: [common_quant_param] quant_type: {config.quant_type} output "
                               f"as {output.suffix or output_format} is not implemented (WEIGHT_QUANT and "
                               "FULL_QUANT are; write .onnx for dynamic quantisation)")
    if weight_fp16 and find_serializer(output, output_format).name != "ms":
        raise InputError(f"float16 constants (--fp16) apply to .ms output, not {output.suffix or output_format}")
    model = read_model(source, fmk, LoadOptions(input_shapes=dict(input_shapes or {})))
    report = quantize_model(model, config, progress)
    if weight_fp16:
        model.metadata[WEIGHT_FP16_KEY] = "on"
    for line in report.no_effect:
        warnings.warn(line, QuantConfigWarning, stacklevel=2)
    save_atomically(model, output, output_format)
    if config.debug_dir:
        from .debug import write_debug_csvs

        write_debug_csvs(Path(config.debug_dir), report.rows)
    report.source, report.output = str(source), str(output)
    return report


__all__ = ["QuantConfigError", "QuantConfigWarning", "QuantReport", "quantize", "quantize_model"]
