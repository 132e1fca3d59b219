"""Signal processing: DFT, STFT, window functions, MelWeightMatrix."""
from __future__ import annotations

from ...ir import Dim, DType, Graph, Node, Shape
from ._base import Info, Inputs, arg, attr_dtype, is_omitted, norm_axis, rule, scalar, shaped_rule


def _half(n: Dim | float) -> Dim:
    return n // 2 + 1 if isinstance(n, int) else None


@shaped_rule("DFT")
def _dft(node: Node, inputs: Inputs, graph: Graph, shape: Shape) -> list[Info]:
    x = inputs[0]
    rank = len(shape)
    given = -2 if is_omitted(node, 2) else scalar(inputs, 2)
    if not isinstance(given, int):
        return [(x.dtype, (None,) * rank)]
    axis = norm_axis(given, rank)
    inverse, onesided = node.attrs.get("inverse", 0), node.attrs.get("onesided", 0)
    size = shape[axis]
    n: Dim | float
    if is_omitted(node, 1):
        n = (2 * (size - 1) if isinstance(size, int) else None) if onesided and inverse else size
    else:
        n = scalar(inputs, 1)
    out: list[Dim | float] = list(shape)
    if onesided and not inverse:
        out[axis], out[-1] = _half(n), 2
    else:
        out[axis], out[-1] = n, (1 if onesided else 2)
    return [(x.dtype, tuple(out))]


@rule("STFT")
def _stft(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    signal, step = inputs[0], scalar(inputs, 1)
    window = arg(inputs, 2)
    if signal.shape is None or len(signal.shape) != 3:
        return [(signal.dtype, None)]
    batch, length = signal.shape[0], signal.shape[1]
    frame: Dim | float
    if not is_omitted(node, 3):
        frame = scalar(inputs, 3)
    elif window is not None and window.shape:
        frame = window.shape[0]
    else:
        frame = length
    frames = None
    if isinstance(length, int) and isinstance(frame, int) and step:
        frames = (length - frame) // step + 1
    bins = _half(frame) if node.attrs.get("onesided", 1) else frame
    return [(signal.dtype, (batch, frames, bins, 2))]


@rule("HannWindow", "HammingWindow", "BlackmanWindow")
def _window(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    size = scalar(inputs, 0)
    return [(attr_dtype(node, "output_datatype", DType.FLOAT32), (size,))]


@rule("MelWeightMatrix")
def _mel(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    bins, dft = scalar(inputs, 0), scalar(inputs, 1)
    return [(attr_dtype(node, "output_datatype", DType.FLOAT32), (_half(dft), bins))]
