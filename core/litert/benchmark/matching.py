"""Across a conversion: which reference tensor a model tensor stands for, and the reference's inputs.

``litert compare --model m.ms --reference m.onnx`` compares two graphs that
a converter made different:

* **Names.**  Graph inputs and outputs keep their names, intermediates do
  not (MindSpore Lite's converter names a tensor after the node that writes
  it, and writes a Conv + BatchNorm + ReLU as one node named after the
  Conv).  Node names survive, and litert's readers keep a source node's
  name as the prefix of the IR nodes made from it (``Conv_3/Conv_1``,
  ``Conv_3/Relu_2``): its *origin*.  So a tensor is matched through the
  node that reads it: what model node ``C`` reads as input ``k`` is what
  the reference node named ``origin(C)`` reads as input ``k``.  That holds
  across fusion, since a fused chain's output is what the next node reads;
  a tensor read only inside its own origin (the pre-activation of a fused
  ReLU, a layout Transpose) has no counterpart.  A match whose shape
  disagrees (an operator whose inputs the converter reordered) is dropped.
* **Layouts.**  A ``.ms`` made with converter_lite's defaults takes NHWC
  images where the ONNX original takes NCHW: the reference gets the
  transposed data (:func:`reference_feeds`; the other way round when the
  reference is the ``.ms``), and a 4-D tensor that differs from its
  counterpart exactly by NHWC vs NCHW is compared transposed
  (:func:`in_reference_layout`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..ir import Graph, Layout
from .capture import NodeRecord

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)


def origin(node_name: str) -> str:
    """The source node an IR node was made from: its name up to the first ``/``."""
    return node_name.split("/", 1)[0]


def counterparts(model: Graph, reference: Graph, available: Mapping[str, object]) -> dict[str, str]:
    """Model tensor -> reference tensor (one of ``available``), matched through the nodes that read them."""
    ref_inputs: dict[str, list[str]] = {}
    for node in reference.nodes:
        ref_inputs.setdefault(node.name, list(node.inputs))
    for node in reference.nodes:
        ref_inputs.setdefault(origin(node.name), list(node.inputs))
    made_by = {out: origin(node.name) for node in model.nodes for out in node.outputs if out}
    found: dict[str, str] = {}
    for node in model.nodes:
        here = origin(node.name)
        theirs = ref_inputs.get(node.name) or ref_inputs.get(here)
        if not theirs:
            continue
        for ours, ref in zip(node.inputs, theirs):
            if not ours or ours in found or made_by.get(ours, here) == here or ref not in available:
                continue
            found[ours] = ref
    return found


def origin_inputs(name: str, producer: Mapping[str, NodeRecord]) -> list[str]:
    """What the source node that made ``name`` reads: inputs of its IR nodes that come from outside it.

    For ``Conv_31_nt`` of a ``.ms`` (``Conv_31/Conv_9`` then ``Conv_31/Clip_10``) that is the Conv's input, not
    the pre-activation between the two; for a node of its own (ONNX), just its inputs."""
    group = origin(producer[name].node)
    found: list[str] = []
    seen: set[str] = set()

    def walk(tensor: str) -> None:
        for source in producer[tensor].inputs:
            if source in seen:
                continue
            seen.add(source)
            if source in producer and origin(producer[source].node) == group:
                walk(source)
            else:
                found.append(source)

    walk(name)
    return found


def in_reference_layout(actual: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, str]:
    """``actual`` transposed between NHWC and NCHW when that gives the reference's shape; and a note saying so."""
    if actual.shape == expected.shape or actual.ndim != 4 or expected.ndim != 4:
        return actual, ""
    for axes, ours, theirs in ((NHWC_TO_NCHW, "NHWC", "NCHW"), (NCHW_TO_NHWC, "NCHW", "NHWC")):
        moved = actual.transpose(axes)
        if moved.shape == expected.shape:
            return moved, f"model tensor {ours} {list(actual.shape)}, compared transposed to the reference's {theirs}"
    return actual, ""


def _fits(shape: Sequence[int], declared: Sequence[object] | None) -> bool:
    return declared is not None and len(shape) == len(declared) and all(
        not isinstance(d, int) or d == s for s, d in zip(shape, declared))


def has_nhwc_inputs(graph: Graph) -> bool:
    return any(graph.values[n].layout is Layout.NHWC for n in graph.inputs if n in graph.values)


def reference_feeds(model: Graph, feeds: Mapping[str, np.ndarray], reference: Graph) -> dict[str, np.ndarray]:
    """``feeds`` (the model's inputs, in the model's layouts) as the reference takes them.

    A 4-D input that one side declares NHWC and the other does not is transposed when the reference's input
    (same name, or same position) takes the transposed shape and not the given one."""
    ref_values = [reference.values.get(n) for n in reference.inputs]
    result = {}
    for index, (name, array) in enumerate(feeds.items()):
        value = model.values.get(name)
        ref = reference.values.get(name) if name in reference.inputs else (
            ref_values[index] if index < len(ref_values) else None)
        array = np.asarray(array)
        if value is not None and ref is not None and array.ndim == 4 and \
                (value.layout is Layout.NHWC) != (ref.layout is Layout.NHWC):
            moved = array.transpose(NHWC_TO_NCHW if value.layout is Layout.NHWC else NCHW_TO_NHWC)
            if not _fits(array.shape, ref.shape) and _fits(moved.shape, ref.shape):
                array = np.ascontiguousarray(moved)
        result[name] = array
    return result
