"""``litert compare``: run a model and a reference on the same inputs, find where they part.

The model runs in litert with a :class:`TensorCapture` as hooks, so every
node's outputs are kept in execution order.  The reference runs through a
:class:`ReferenceEngine`: litert's own reader and CPU backend with
``optimize="none"`` (built in), or one a plugin registers through the
``litert_register_reference_engines`` hook (litert-formats registers
onnxruntime for ``.onnx`` files).  ``auto`` picks the first plugin engine that
reads the reference's file type and can run here, else litert: the core never
imports onnxruntime.

Tensors are matched by name.  By default the model is loaded with
``optimize="none"`` so that every node of the file keeps its output and the
first diverging *node of the file* is named; with ``optimize="general"`` the
fused nodes are compared through the output names they keep (a FusedConv
keeps the name of the Relu it absorbed), which is what deployment runs.
A tensor diverges when ``max |model - reference| > atol + rtol * max |reference|``
(or its shape differs, or NaN/Inf appear on one side only).  A diverging
tensor that no node reads and that is not a graph output (an old-opset
Dropout's mask, say) is reported but does not count as a divergence.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_text
from ..errors import InputError, PluginError
from ..runtime.loading import read_model
from .accuracy import cosine_similarity, max_abs_error, mean_bias, write_npz
from .capture import TensorCapture, to_host
from .engines import ReferenceEngine, match_feeds
from .inputs import resolve_inputs
from .matching import counterparts, has_nhwc_inputs, in_reference_layout, origin_inputs, reference_feeds
from .result import Comparison, TensorDiff


def run_litert(path: Path, feeds: Mapping[str, np.ndarray], threads: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every node output of a model, through litert's own reader and CPU backend, unoptimised."""
    from .. import load

    session = load(path, devices=["cpu"], threads=threads, optimize="none")
    capture = TensorCapture()
    outputs = session.run(match_feeds(feeds, [i.name for i in session.inputs]), capture)
    tensors = dict(capture.tensors)
    tensors.update({k: np.asarray(to_host(v)) for k, v in outputs.items()})
    return tensors, list(outputs)


LITERT = ReferenceEngine("litert", run_litert)


def reference_engines() -> dict[str, ReferenceEngine]:
    """litert's own engine, then those plugins registered."""
    from ..plugins import host

    return {LITERT.name: LITERT, **host().reference_engines}


def pick_engine(name: str, reference: Path) -> str:
    engines = reference_engines()
    if name == "auto":
        suffix = reference.suffix.lower()
        usable = [e.name for e in engines.values() if suffix in e.suffixes and e.missing() is None]
        return usable[0] if usable else LITERT.name
    if name not in engines:
        raise InputError(f"unknown reference engine {name!r} (choose auto, {', '.join(engines)})")
    why = engines[name].missing()
    if why is not None:
        raise PluginError(f"reference engine {name} cannot run: {why}")
    return name


def diff_tensor(name: str, actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                node: str = "", op_type: str = "", is_output: bool = False) -> TensorDiff:
    actual, expected = np.asarray(actual), np.asarray(expected)
    note = "" if actual.dtype == expected.dtype else f"dtype {actual.dtype} vs reference {expected.dtype}"
    shape, ref_shape = [int(d) for d in actual.shape], [int(d) for d in expected.shape]
    if actual.shape != expected.shape:
        nan = float("nan")
        return TensorDiff(name, node, op_type, shape, ref_shape, nan, nan, nan, nan, True, is_output,
                          f"shape {shape} vs reference {ref_shape}")
    if actual.dtype.kind in "fc" or expected.dtype.kind in "fc":
        bad_a = ~np.isfinite(actual.astype(np.float64)) if actual.size else np.zeros(0, bool)
        bad_e = ~np.isfinite(expected.astype(np.float64)) if expected.size else np.zeros(0, bool)
        if (bad_a != bad_e).any():
            inf = float("inf")
            return TensorDiff(name, node, op_type, shape, ref_shape, inf, inf, inf, float("nan"), True,
                              is_output, "NaN/Inf on one side only")
        finite = ~bad_a
        actual, expected = actual[finite], expected[finite]
    error = max_abs_error(actual, expected)
    scale = float(np.max(np.abs(expected.astype(np.float64)))) if expected.size else 0.0
    relative = error / scale if scale > 0 else (0.0 if error == 0 else float("inf"))
    diverged = error > atol + rtol * scale
    return TensorDiff(name, node, op_type, shape, ref_shape, error, relative, mean_bias(actual, expected) * 100,
                      cosine_similarity(actual, expected), bool(diverged), is_output, note)


def compare(
    model: str | Path,
    reference: str | Path,
    *,
    inputs: Any = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    devices: Sequence[str] | None = None,
    threads: int | None = None,
    optimize: str = "none",
    reference_engine: str = "auto",
    rtol: float = 1e-3,
    atol: float = 1e-5,
    seed: int = 0,
    fmk: str | None = None,
    dump: str | Path | None = None,
) -> Comparison:
    """Run ``model`` (litert) and ``reference`` on the same inputs and compare every common tensor.

    :param inputs: as for :func:`litert.benchmark` (None = seeded random data).
    :param optimize: how to load ``model``: ``"none"`` (default, every node
        compared) or ``"general"`` (what deployment runs).
    :param dump: a directory to write ``model.npz`` and ``reference.npz``
        (every captured tensor, keyed by name) and ``comparison.json``.
    """
    from .. import load

    model, reference = Path(model), Path(reference)
    if not reference.is_file():
        raise InputError(f"reference model {reference}: no such file")
    engine = pick_engine(reference_engine, reference)
    session = load(model, devices=devices, threads=threads, fmk=fmk, optimize=optimize,
                   input_shapes={k: tuple(v) for k, v in (input_shapes or {}).items()})
    feeds, _ = resolve_inputs(session, inputs, seed)
    capture = TensorCapture()
    results = session.run(feeds, capture)
    outputs = list(results)
    ours = dict(capture.tensors)
    ours.update({k: np.asarray(to_host(v)) for k, v in results.items()})
    graph = session.model.graph
    ref_graph = None
    if has_nhwc_inputs(graph) or reference.suffix.lower() == ".ms":  # a .ms taking NHWC images on one side
        ref_graph = read_model(reference).graph
        feeds = reference_feeds(graph, feeds, ref_graph)
    theirs, ref_outputs = reference_engines()[engine].run(reference, feeds, session.threads)

    read = set(graph.consumers()) | set(outputs)
    # Graph outputs a converter renamed are matched by position, intermediates through the nodes reading them.
    aliases = {o: r for o, r in zip(outputs, ref_outputs) if o not in theirs and r in theirs}
    if any(name not in theirs and name not in aliases for name in ours):
        ref_graph = ref_graph or read_model(reference).graph
        aliases = {**counterparts(graph, ref_graph, theirs), **aliases}
    diffs: list[TensorDiff] = []
    unmatched: list[str] = []
    seen: set[str] = set()
    for record in capture.records:
        for name in record.outputs:
            if name in seen or name not in ours:
                continue
            seen.add(name)
            ref_name = name if name in theirs else aliases.get(name)
            if ref_name is None:
                unmatched.append(name)
                continue
            actual, layout_note = in_reference_layout(ours[name], theirs[ref_name])
            if ref_name != name and name not in outputs and actual.shape != theirs[ref_name].shape:
                unmatched.append(name)  # paired through a node that reads it, yet of another shape: not its match
                continue
            diff = diff_tensor(name, actual, theirs[ref_name], rtol, atol, record.node, record.op_type,
                               name in outputs)
            diff.note = "; ".join(filter(None, [f"reference tensor {ref_name!r}" if ref_name != name else "",
                                                layout_note, diff.note]))
            diff.unused = name not in read
            diffs.append(diff)
    for name in outputs:  # outputs no node produced in this run (a constant, a pass-through input)
        if name not in seen and (name in theirs or name in aliases):
            expected = theirs[aliases.get(name, name)]
            diffs.append(diff_tensor(name, in_reference_layout(ours[name], expected)[0], expected, rtol, atol,
                                     "(graph output)", "", True))
    comparison = Comparison(str(model), str(reference), engine, optimize, rtol, atol, diffs, unmatched)
    first = comparison.first_divergence
    if first is not None and first.name in capture.producer:
        by_name = {t.name: t for t in diffs}
        comparison.agreeing_inputs = [n for n in origin_inputs(first.name, capture.producer)
                                      if n in by_name and not by_name[n].diverged]
    if dump is not None:
        write_dump(Path(dump), ours, theirs, comparison)
    return comparison


def write_dump(directory: Path, ours: Mapping[str, np.ndarray], theirs: Mapping[str, np.ndarray],
               comparison: Comparison) -> None:
    """``model.npz``, ``reference.npz`` (read with ``np.load``; keys are tensor names) and ``comparison.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_npz(directory / "model.npz", ours)
    write_npz(directory / "reference.npz", theirs)
    write_text(directory / "comparison.json", json.dumps(comparison.to_dict(), indent=2) + "\n")
