"""``litert quant-report``: how much each quantised layer loses, worst first, and which to leave float.

The model is quantised in memory as the config says; the float and the quantised model then run over the
config's calibration samples, and each quantised layer's output is compared (the float tensor against the
quantised one, dequantised): cosine similarity and SQNR (signal-to-quantisation-noise ratio, dB).  Errors
accumulate through the network, so the ranking shows where accuracy goes; the proposal lists the worst
layers as a ``skip_quant_node`` line.  Nothing is written.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..benchmark.capture import TensorCapture
from ..errors import QuantConfigError
from ..formats import LoadOptions
from ..ir import Shape
from ..runtime.loading import read_model
from .calibration import CalibrationSet, input_specs
from .config import QuantConfig
from .quantize import prepare, quantize_model


@dataclass
class LayerLoss:
    node: str
    op_type: str
    tensor: str
    cosine: float
    sqnr_db: float


class _Accumulator:
    def __init__(self) -> None:
        self.dot = self.ref = self.got = self.noise = 0.0

    def add(self, reference: np.ndarray, got: np.ndarray) -> None:
        reference, got = reference.astype(np.float64).ravel(), got.astype(np.float64).ravel()
        self.dot += float(reference @ got)
        self.ref += float(reference @ reference)
        self.got += float(got @ got)
        self.noise += float(((reference - got) ** 2).sum())

    def cosine(self) -> float:
        denominator = np.sqrt(self.ref * self.got)
        return 1.0 if denominator == 0 else self.dot / denominator

    def sqnr(self) -> float:
        if self.noise == 0:
            return float("inf")
        return float(10.0 * np.log10(max(self.ref, 1e-30) / self.noise))


def layer_losses(source: str | Path, config: QuantConfig, *, fmk: str | None = None,
                 input_shapes: Mapping[str, Shape] | None = None, progress: bool | None = None) -> list[LayerLoss]:
    """Per quantised layer, over the config's calibration samples, worst (lowest SQNR) first."""
    from ..runtime import Session

    if config.preprocess["calibrate_path"] is None or config.preprocess["input_type"] is None \
            or config.preprocess["calibrate_size"] is None:
        raise QuantConfigError(f"{config.source}: quant-report needs [data_preprocess_param] calibrate_path, "
                               "calibrate_size and input_type (the samples to compare on)")
    options = LoadOptions(input_shapes=dict(input_shapes or {}))
    float_model = read_model(source, fmk, options)
    quant_model = copy.deepcopy(float_model)
    report = quantize_model(quant_model, config, progress)
    prepare(float_model)
    samples = CalibrationSet(config.preprocess, input_specs(float_model.graph))
    float_session = Session(float_model, devices=["cpu"], optimize_level="none")
    quant_session = Session(quant_model, devices=["cpu"], optimize_level="none")
    quant_names = {out for node in quant_session.model.graph.nodes for out in node.outputs}
    reads = {}
    for label, op_type, tensor, quantised in report.layers:
        if quantised is not None and quantised.name in quant_names:
            reads[label] = (op_type, tensor, quantised.name, quantised)
        else:  # weight/dynamic quantisation, or a graph output: the float name holds the quantised result
            reads[label] = (op_type, tensor, tensor, None)
    totals = {label: _Accumulator() for label in reads}
    for sample in samples:
        float_capture = TensorCapture({tensor for _, tensor, _, _ in reads.values()})
        quant_capture = TensorCapture({name for _, _, name, _ in reads.values()})
        float_session.predict(sample, hooks=float_capture)
        quant_session.predict(sample, hooks=quant_capture)
        for label, (_, tensor, name, quantised) in reads.items():
            if tensor not in float_capture.tensors or name not in quant_capture.tensors:
                continue
            got = quant_capture.tensors[name]
            if quantised is not None:
                got = (got.astype(np.float32) - quantised.zero_point) * quantised.scale
            totals[label].add(float_capture.tensors[tensor], got)
    losses = [LayerLoss(label, op_type, tensor, totals[label].cosine(), totals[label].sqnr())
              for label, (op_type, tensor, _, _) in reads.items()]
    return sorted(losses, key=lambda loss: loss.sqnr_db)


def report_lines(losses: list[LayerLoss], propose: int, min_sqnr_db: float) -> list[str]:
    lines = [f"{'rank':>4}  {'node':<24} {'type':<8} {'cosine':>9} {'SQNR dB':>8}"]
    for rank, loss in enumerate(losses, 1):
        lines.append(f"{rank:>4}  {loss.node:<24} {loss.op_type:<8} {loss.cosine:>9.5f} {loss.sqnr_db:>8.2f}")
    worst = [loss.node for loss in losses[:propose] if loss.sqnr_db < min_sqnr_db]
    if worst:
        lines.append(f"proposal ([common_quant_param]): skip_quant_node={','.join(worst)}")
    else:
        lines.append(f"no layer is below {min_sqnr_db:g} dB SQNR: nothing to skip")
    return lines
