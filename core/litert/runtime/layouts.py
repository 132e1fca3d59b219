"""Input layouts: NCHW data given to a model that takes NHWC, and the other way round.

A ``.ms`` file converted with MindSpore Lite's defaults takes NHWC images
(its readers mark such inputs :attr:`Layout.NHWC`); ONNX models take NCHW.
Data in the other layout fails the shape check; :func:`layout_mismatch`
turns that failure into one line that says so, and ``predict(...,
layout="NCHW")`` (``--input-layout NCHW``) asks for the transpose instead.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..ir import Layout

#: (layout of the data, layout of the model input) -> axes that turn the first into the second
TRANSPOSES = {
    (Layout.NCHW, Layout.NHWC): (0, 2, 3, 1),
    (Layout.NHWC, Layout.NCHW): (0, 3, 1, 2),
}


def check_layout(text: str) -> str:
    """``"NCHW"`` or ``"NHWC"`` (any case), else an :class:`InputError`."""
    name = str(text).upper()
    if name not in (Layout.NCHW.value, Layout.NHWC.value):
        raise InputError(f"layout {text!r}: NCHW or NHWC")
    return name


def to_input_layout(array: np.ndarray, data_layout: str, input_layout: Layout) -> np.ndarray:
    """``array`` (4-D, in ``data_layout``) in the layout the model input declares; other arrays as they are.

    Inputs of no declared layout (:attr:`Layout.ANY`, e.g. ONNX's) are taken as they come."""
    axes = TRANSPOSES.get((Layout(data_layout), input_layout))
    if axes is None or array.ndim != 4:
        return array
    return np.ascontiguousarray(array.transpose(axes))


def layout_mismatch(name: str, want: Sequence[object], layout: Layout, got: Sequence[int], *,
                    resizing: bool = False) -> str | None:
    """The one-line explanation when ``got`` is ``want`` in the other layout, else None.

    ``want`` is the shape of an input the model declares NHWC (or NCHW); ``got`` the shape given (as data,
    or to ``resize`` when ``resizing``)."""
    for (data, model), axes in TRANSPOSES.items():
        if model is not layout or len(want) != 4 or len(got) != 4:
            continue
        moved = tuple(got[a] for a in axes)
        if tuple(got) == tuple(want) or not all(not isinstance(w, int) or w == m for w, m in zip(want, moved)):
            continue
        if resizing:
            return (f"input {name!r} is {model.value} {_dims(want)}; {_dims(got)} is that shape in {data.value}: "
                    f"give the new shape in {model.value} order")
        return (f"input {name!r} is {model.value} {_dims(want)} but got {data.value} data {_dims(got)}: "
                f"transpose it (x.transpose{axes}), or let litert do it: predict(..., layout=\"{data.value}\"), "
                f"--input-layout {data.value}")
    return None


def _dims(shape: Sequence[object]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
