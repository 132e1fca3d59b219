"""Benchmarking and accuracy debugging: ``litert.benchmark`` and ``litert compare``.

| module | job |
| --- | --- |
| ``runner`` | :func:`benchmark`: load, check reference data, warm up, time the loops |
| ``inputs`` | seeded random inputs; ``.npz``/``.npy``/raw ``.bin`` input files |
| ``profile`` | per-node time through the ``NodeHooks`` protocol |
| ``capture`` | node hooks keeping intermediate tensors |
| ``accuracy`` | MindSpore Lite's mean bias, cosine; reference and calibration files |
| ``comparison`` | model vs reference per tensor; the first diverging node |
| ``report`` | the text the CLI prints |
| ``plot`` | the profile as a self-contained HTML/SVG (or PNG) chart |
| ``result`` | result dataclasses with ``to_dict``/``to_json`` |

``litert.benchmark`` (the attribute of the ``litert`` package) is the
function, which hides this subpackage's attribute; import the modules with
``from litert.benchmark import ...`` or ``from litert.benchmark.accuracy import ...``.
"""
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .runner import benchmark

if TYPE_CHECKING:
    from .accuracy import read_calibration_file, read_reference, write_calibration_file, write_npz
    from .comparison import compare
    from .result import (
                         AccuracyReport,
                         BenchmarkResult,
                         Comparison,
                         LatencyStats,
                         MemoryStats,
                         OpTiming,
                         OpTypeTiming,
                         Profile,
                         TensorAccuracy,
                         TensorDiff,
    )

#: the rest of :data:`__all__`, imported from its module on first use (PEP 562): ``import litert`` imports
#: this package for :func:`benchmark`, and loading a model needs none of these
_LAZY = {
    **dict.fromkeys(["read_calibration_file", "read_reference", "write_calibration_file", "write_npz"], ".accuracy"),
    "compare": ".comparison",
    **dict.fromkeys(["AccuracyReport", "BenchmarkResult", "Comparison", "LatencyStats", "MemoryStats", "OpTiming",
                     "OpTypeTiming", "Profile", "TensorAccuracy", "TensorDiff"], ".result"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_LAZY[name], __name__), name)


__all__ = [
    "AccuracyReport", "BenchmarkResult", "Comparison", "LatencyStats", "MemoryStats", "OpTiming", "OpTypeTiming",
    "Profile", "TensorAccuracy", "TensorDiff", "benchmark", "compare", "read_calibration_file", "read_reference",
    "write_calibration_file", "write_npz",
]
