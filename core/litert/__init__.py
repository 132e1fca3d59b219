"""litert: a lightweight, plugin-based neural-network inference engine.

    import litert
    model = litert.load("resnet50.onnx", devices=["cpu"], threads=2)
    [y] = model.predict([x])
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .gc_pause import collector_paused

with collector_paused():  # the import's objects live as long as the process: no collection walks them meanwhile
    from . import errors

    # the function: ``litert.benchmark`` names it, not its subpackage (bound to the name while it is imported)
    from .benchmark import benchmark
    from .convert import ConversionReport, convert
    from .formats import LoadOptions
    from .hookspecs import hookimpl
    from .ir import Shape
    from .precision import check_precision
    from .runtime import Session, TensorInfo, read_model

if TYPE_CHECKING:
    from .quant import quantize

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``litert.quantize``, imported on first use: post-training quantisation (calibration, config parsing,
    the rewrite) is not part of loading a model."""
    if name == "quantize":
        from .quant import quantize

        return quantize
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load(
    path: str | Path,
    devices: Sequence[str] | None = None,
    threads: int | None = None,
    *,
    fmk: str | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    optimize: str = "general",
    cpu_fallback: bool = True,
    weight_file: str | Path | None = None,
    precision: str = "fp32",
) -> Session:
    """Read a model file and compile it for ``devices`` (default: every available backend by priority).

    :param devices: backend names in the order to try them; the CPU backend is
        appended as the fallback unless ``cpu_fallback`` is False.
    :param threads: intra-op threads (default 1).
    :param fmk: the source format when the suffix does not tell (``onnx``...).
    :param input_shapes: override declared input dimensions.
    :param optimize: ``"general"`` (default) or ``"none"``.
    :param weight_file: the weights of a Caffe net (default: the ``.caffemodel`` beside it).
    :param precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: the arithmetic of the heavy ops where the
        hardware has it (:mod:`litert.precision`); ``Session.precision`` says what is used.
    """
    check_precision(precision)  # before the reading, which may take long
    started = time.perf_counter()
    with collector_paused():
        model = read_model(path, fmk, LoadOptions(input_shapes=dict(input_shapes or {}),
                                                  weight_file=Path(weight_file) if weight_file else None,
                                                  borrow_file=True))  # the session detaches what it keeps
        read_seconds = time.perf_counter() - started
        session = Session(model, devices=devices, threads=threads, optimize_level=optimize, cpu_fallback=cpu_fallback,
                          precision=precision)
    session.timings = {"read": read_seconds, **session.timings}
    return session


Model = Session


__all__ = ["ConversionReport", "Model", "Session", "TensorInfo", "benchmark", "convert", "errors", "hookimpl", "load",
           "quantize", "read_model", "__version__"]
