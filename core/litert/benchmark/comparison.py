"""``litert compare``: run a model and a reference on the same inputs, find where they part.

The model runs in litert with a :class:`TensorCapture` as hooks, so every
node's outputs are kept in execution order.  The reference runs through an
engine from :data:`REFERENCE_ENGINES`: onnxruntime when it (and ``onnx``) are
installed and the reference is an ONNX file (every node output is made a
graph output, onnxruntime's graph optimisations are off so none is fused
away), otherwise litert's own reader and CPU backend with ``optimize="none"``.
onnxruntime is imported with ``importlib`` inside the function: the core
never depends on it.

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

import importlib
import importlib.util
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_text
from ..errors import InputError, PluginError
from .accuracy import cosine_similarity, max_abs_error, mean_bias, write_npz
from .capture import TensorCapture, to_host
from .inputs import resolve_inputs
from .result import Comparison, TensorDiff

#: A reference engine: (model path, feeds by the model's input names, threads) ->
#: (every tensor it computed by name, its output names)
ReferenceEngine = Callable[[Path, Mapping[str, np.ndarray], int], tuple[dict[str, np.ndarray], list[str]]]


def _has_onnxruntime() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _match_feeds(feeds: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Feeds renamed for the reference: by name when it has every one of them, else by position."""
    if set(feeds) <= set(names):
        return dict(feeds)
    if len(names) != len(feeds):
        raise InputError(f"the reference takes {len(names)} input(s) ({', '.join(names)}) but the model takes "
                         f"{len(feeds)} ({', '.join(feeds)})")
    return dict(zip(names, feeds.values()))


def run_onnxruntime(path: Path, feeds: Mapping[str, np.ndarray], threads: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every node output of an ONNX model, through onnxruntime with graph optimisations off."""
    onnx = importlib.import_module("onnx")
    ort = importlib.import_module("onnxruntime")
    model = onnx.load(str(path))
    outputs = [o.name for o in model.graph.output]
    existing = set(outputs)
    for node in model.graph.node:
        for name in node.output:
            if name and name not in existing:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
                existing.add(name)
    ort.set_default_logger_severity(3)  # its graph warnings (unused initialisers...) are not the user's concern
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        results = session.run(None, _match_feeds(feeds, names))
    except InputError:
        raise
    except Exception as err:  # onnxruntime raises its own exception types
        raise PluginError(f"onnxruntime could not run the reference {path}: {err}") from None
    tensors = {o.name: np.asarray(v) for o, v in zip(session.get_outputs(), results)}
    return tensors, outputs


def run_litert(path: Path, feeds: Mapping[str, np.ndarray], threads: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every node output of a model, through litert's own reader and CPU backend, unoptimised."""
    from .. import load

    session = load(path, devices=["cpu"], threads=threads, optimize="none")
    capture = TensorCapture()
    outputs = session.run(_match_feeds(feeds, [i.name for i in session.inputs]), capture)
    tensors = dict(capture.tensors)
    tensors.update({k: np.asarray(to_host(v)) for k, v in outputs.items()})
    return tensors, list(outputs)


#: engine name -> runner; "auto" picks onnxruntime for .onnx files when installed
REFERENCE_ENGINES: dict[str, ReferenceEngine] = {
    "onnxruntime": run_onnxruntime,
    "litert": run_litert,
}


def pick_engine(name: str, reference: Path) -> str:
    if name == "auto":
        return "onnxruntime" if reference.suffix.lower() == ".onnx" and _has_onnxruntime() else "litert"
    if name not in REFERENCE_ENGINES:
        raise InputError(f"unknown reference engine {name!r} (choose auto, {', '.join(REFERENCE_ENGINES)})")
    if name == "onnxruntime" and not _has_onnxruntime():
        raise PluginError("reference engine onnxruntime needs the onnxruntime and onnx packages, not installed")
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
    theirs, ref_outputs = REFERENCE_ENGINES[engine](reference, feeds, session.threads)

    read = set(session.model.graph.consumers()) | set(outputs)
    # Graph outputs a converter renamed are matched by position.
    aliases = {o: r for o, r in zip(outputs, ref_outputs) if o not in theirs and r in theirs}
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
            diff = diff_tensor(name, ours[name], theirs[ref_name], rtol, atol, record.node, record.op_type,
                               name in outputs)
            diff.unused = name not in read
            diffs.append(diff)
    for name in outputs:  # outputs no node produced in this run (a constant, a pass-through input)
        if name not in seen and (name in theirs or name in aliases):
            diffs.append(diff_tensor(name, ours[name], theirs[aliases.get(name, name)], rtol, atol,
                                     "(graph output)", "", True))
    comparison = Comparison(str(model), str(reference), engine, optimize, rtol, atol, diffs, unmatched)
    first = comparison.first_divergence
    if first is not None and first.name in capture.producer:
        by_name = {t.name: t for t in diffs}
        comparison.agreeing_inputs = [n for n in capture.producer[first.name].inputs
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
