"""Helpers shared by the tensor-family kernels."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from litert.ir.dtypes import numpy_dtype


def onnx_dtype(code: int, default: Any = np.float32) -> np.dtype:
    """The numpy dtype for an ONNX data-type code (``0`` / ``None`` -> ``default``)."""
    if not code:
        return np.dtype(default)
    return numpy_dtype(code)


def int_list(value: Any) -> list[int] | None:
    """A 1-D integer tensor / list attribute as a Python list (``None`` stays ``None``)."""
    if value is None:
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def norm_axis(axis: int, rank: int) -> int:
    """Map a possibly negative axis into ``[0, rank)``."""
    axis = int(axis)
    if axis < -rank or axis >= max(rank, 1):
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def norm_axes(axes: Sequence[int], rank: int) -> list[int]:
    return [norm_axis(a, rank) for a in axes]


def const_int_list(ctx, index: int) -> list[int] | None:
    """The constant value of input ``index`` as an int list, or ``None``."""
    value = ctx.const(index)
    return None if value is None else int_list(value)
