"""onnxruntime as ``litert compare``'s reference engine for ONNX files.

Every node output is made a graph output and onnxruntime's graph
optimisations are off, so no tensor is fused away and each can be matched
with litert's by name.  onnxruntime is a test tool, not a dependency: the
engine reports itself missing when it is not installed.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from litert.benchmark.engines import ReferenceEngine, match_feeds
from litert.errors import InputError, PluginError


def _missing() -> str | None:
    return None if importlib.util.find_spec("onnxruntime") is not None else "the onnxruntime package is not installed"


def run_onnxruntime(path: Path, feeds: Mapping[str, np.ndarray], threads: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Every node output of an ONNX model, through onnxruntime with graph optimisations off."""
    import onnx  # here, not at the top: registering the engine is part of every load, running it is not
    import onnxruntime as ort

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
        results = session.run(None, match_feeds(feeds, names))
    except InputError:
        raise
    except Exception as err:  # onnxruntime raises its own exception types
        raise PluginError(f"onnxruntime could not run the reference {path}: {err}") from None
    tensors = {o.name: np.asarray(v) for o, v in zip(session.get_outputs(), results)}
    return tensors, outputs


ONNXRUNTIME = ReferenceEngine("onnxruntime", run_onnxruntime, suffixes=(".onnx",), missing=lambda: _missing())
