"""Helpers shared by the control-flow and sequence kernels."""
from __future__ import annotations

from typing import Any

import numpy as np


def scalar_bool(value: Any) -> bool:
    """The truth of a one-element tensor (If/Loop conditions)."""
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"condition must have exactly one element, got shape {array.shape}")
    return bool(array.reshape(-1)[0])


def scalar_int(value: Any) -> int:
    """The value of a one-element integer tensor (positions, trip counts)."""
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"expected a scalar, got shape {array.shape}")
    return int(array.reshape(-1)[0])


def seq_index(position: Any, length: int, *, inclusive: bool = False) -> int:
    """A sequence position made non-negative, checked against ``length``.

    ``inclusive`` admits ``length`` itself (insertion at the back).
    """
    pos = scalar_int(position)
    if pos < 0:
        pos += length
    upper = length if inclusive else length - 1
    if not 0 <= pos <= upper:
        raise IndexError(f"sequence position {scalar_int(position)} out of range for length {length}")
    return pos


def empty_stack(graph: Any, name: str, axis: int = 0) -> np.ndarray:
    """The stacked scan output of a loop that ran zero times.

    Its element shape and dtype come from the body graph's value info when
    known; unknown dims become 0 and an unknown dtype float32.
    """
    value = graph.values.get(name) if graph is not None else None
    dtype = np.float32
    elem: tuple[int, ...] = ()
    if value is not None:
        if value.dtype is not None:
            dtype = value.dtype.numpy
        if value.shape is not None:
            elem = tuple(d if isinstance(d, int) else 0 for d in value.shape)
    shape = list(elem)
    axis = axis + len(elem) + 1 if axis < 0 else axis
    shape.insert(axis, 0)
    return np.empty(tuple(shape), dtype=dtype)
