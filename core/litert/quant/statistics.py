"""Per-tensor activation statistics over the calibration set, and the ranges the methods derive from them.

Calibration runs the float model twice over the samples with node hooks (the CPU backend then runs its
unfused, observable variant): pass 1 keeps each watched tensor's min and max, pass 2 (only for KL and
REMOVAL_OUTLIER) a fixed-size histogram over ``[-absmax, absmax]``.  Memory is bounded by
``watched tensors x HISTOGRAM_BINS``, whatever the number of samples.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir import Node

#: bins of the symmetric activation histogram (even: bin HISTOGRAM_BINS/2 starts at 0)
HISTOGRAM_BINS = 4096
#: quantised levels the KL search compresses the distribution to (int8: 256 levels, 128 a side)
KL_TARGET_BINS = 128
#: share of values REMOVAL_OUTLIER clips at each end
OUTLIER_SHARE = 1e-4


@dataclass
class TensorStats:
    minimum: float = float("inf")
    maximum: float = float("-inf")
    histogram: np.ndarray | None = None

    @property
    def absmax(self) -> float:
        return max(abs(self.minimum), abs(self.maximum), 1e-12)


@dataclass
class StatisticsHook:
    """Node hooks (``litert.backend.NodeHooks``) that update the statistics of watched tensors."""

    watched: set[str]
    with_histograms: bool = False
    stats: dict[str, TensorStats] = field(default_factory=dict)

    def before_node(self, node: Node, backend: str) -> None:
        pass

    def after_node(self, node: Node, backend: str, outputs: list[Any]) -> None:
        for name, value in zip(node.outputs, outputs):
            if name in self.watched and value is not None:
                self.observe(name, _host(value))

    def observe(self, name: str, array: np.ndarray) -> None:
        array = np.asarray(array, dtype=np.float32)
        if array.size == 0:
            return
        stats = self.stats.setdefault(name, TensorStats())
        if not self.with_histograms:
            stats.minimum = min(stats.minimum, float(array.min()))
            stats.maximum = max(stats.maximum, float(array.max()))
            return
        edge = stats.absmax
        counts, _ = np.histogram(array, bins=HISTOGRAM_BINS, range=(-edge, edge))
        stats.histogram = counts if stats.histogram is None else stats.histogram + counts


def _host(value: Any) -> np.ndarray:
    to_host = getattr(value, "to_host", None)
    return np.asarray(to_host() if to_host is not None else value)


def range_max_min(stats: TensorStats) -> tuple[float, float]:
    return stats.minimum, stats.maximum


def range_removal_outlier(stats: TensorStats) -> tuple[float, float]:
    """Clip the OUTLIER_SHARE smallest and largest values (percentiles of the histogram)."""
    counts = stats.histogram
    if counts is None or counts.sum() == 0:
        return range_max_min(stats)
    edges = np.linspace(-stats.absmax, stats.absmax, HISTOGRAM_BINS + 1)
    cumulative = np.cumsum(counts) / counts.sum()
    low = edges[int(np.searchsorted(cumulative, OUTLIER_SHARE))]
    high = edges[int(np.searchsorted(cumulative, 1.0 - OUTLIER_SHARE)) + 1]
    return max(stats.minimum, float(low)), min(stats.maximum, float(high))


def range_kl(stats: TensorStats) -> tuple[float, float]:
    """The clipping threshold whose quantised distribution is closest (KL divergence) to the original.

    TensorRT-style entropy calibration on the histogram of |x|; a tensor without negative values (after
    ReLU) keeps 0 as its lower bound and gets all 256 levels on its positive side.
    """
    counts = stats.histogram
    if counts is None or counts.sum() == 0:
        return range_max_min(stats)
    half = HISTOGRAM_BINS // 2
    magnitudes = counts[half:].astype(np.float64) + counts[:half][::-1]
    # the spike of exact zeros (ReLU outputs) is represented exactly at any threshold; left in, its smearing
    # over the first quantised level dominates the divergence and drives the threshold far too low
    magnitudes[0] = 0.0
    nonnegative = stats.minimum >= 0
    target = 2 * KL_TARGET_BINS if nonnegative else KL_TARGET_BINS
    best_bins, best_divergence = half, np.inf
    for bins in range(target, half + 1, 16):
        reference = magnitudes[:bins].copy()
        reference[-1] += magnitudes[bins:].sum()
        divergence = _kl(reference, _quantised(magnitudes[:bins], target))
        if divergence < best_divergence:
            best_bins, best_divergence = bins, divergence
    threshold = stats.absmax * best_bins / half
    low = 0.0 if nonnegative else max(stats.minimum, -threshold)
    return low, min(stats.maximum, threshold)


def _quantised(counts: np.ndarray, levels: int) -> np.ndarray:
    """``counts`` merged into ``levels`` groups, each spread back evenly over its non-empty bins."""
    expanded = np.zeros_like(counts)
    for group in np.array_split(np.arange(counts.size), levels):
        chunk = counts[group]
        nonzero = chunk > 0
        if nonzero.any():
            expanded[group[nonzero]] = chunk.sum() / nonzero.sum()
    return expanded


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum()
    q_total = q.sum()
    if q_total == 0:
        return np.inf
    q = q / q_total
    mask = p > 0
    if np.any(q[mask] == 0):
        return np.inf
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


#: activation_quant_method -> how a tensor's range follows from its statistics
RANGE_METHODS: dict[str, Callable[[TensorStats], tuple[float, float]]] = {
    "MAX_MIN": range_max_min,
    "KL": range_kl,
    "REMOVAL_OUTLIER": range_removal_outlier,
}
