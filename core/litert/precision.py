"""The arithmetic precision a session asks its backends for.

``litert.load(..., precision=...)`` (CLI ``--precision``; MindSpore Lite's
``cpu.precision_mode``; OpenVINO's inference-precision hint):

* ``fp32`` (default): float32 throughout.
* ``bf16``: a backend may run its heavy ops with bfloat16 operands and float32
  accumulation where the hardware has bf16 instructions (the CPU backend:
  convolutions and constant-weight MatMul/Gemm on AVX512_BF16). Inputs,
  outputs and every other op stay float32. Results differ from float32 by
  bf16's 8-bit significand in the operands.
* ``fp16``: the same with float16 operands.

A backend that cannot honour the request computes in float32 and says why:
the precision actually used is :attr:`litert.Session.precision`, printed by
``litert info``/``litert benchmark`` and logged as a warning when it differs
from the request. It is never chosen silently (OpenVINO switches to bf16 by
default without saying so).
"""
from __future__ import annotations

from .errors import OptionError

#: precision -> what it means for a backend (one line each, shown by ``--help``)
PRECISIONS: dict[str, str] = {
    "fp32": "float32 throughout",
    "bf16": "bfloat16 operands, float32 accumulation, in the ops a backend has bf16 kernels for",
    "fp16": "float16 operands, float32 accumulation, in the ops a backend has fp16 kernels for",
}


def check_precision(value: str) -> str:
    """``value`` when it names a precision, else :class:`~litert.errors.OptionError`."""
    if value not in PRECISIONS:
        raise OptionError(f"unknown precision {value!r} (choose from {', '.join(PRECISIONS)})")
    return value
