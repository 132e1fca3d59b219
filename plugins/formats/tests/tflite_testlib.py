"""Shared pieces of the TFLite frontend tests: the fixtures, LiteRT as the oracle, the comparison rule."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "tflite"
sys.path.insert(0, str(ROOT / "tools" / "tflite"))
import tf_models  # noqa: E402,F401  (re-exported for the tests)


def max_error(ref: np.ndarray, got: np.ndarray) -> float:
    """Float outputs: max |ref - got| over the output's scale (its max |ref|, at least 1e-6).
    Integer (quantised) outputs: the largest difference in quantisation steps."""
    assert ref.shape == got.shape, (ref.shape, got.shape)
    if ref.dtype.kind == "f":
        scale = max(float(np.abs(ref).max()), 1e-6)
        return float(np.abs(ref.astype(np.float64) - got.astype(np.float64)).max()) / scale
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    return float(np.abs(ref.astype(np.int64) - got.astype(np.int64)).max())


def assert_outputs_match(want: dict, got: dict, session, label: str, tolerance: float) -> None:
    """TensorFlow's outputs ``want`` are the session's outputs, and each of ``got`` is within ``tolerance``
    (:func:`max_error`) of it."""
    assert sorted(want) == sorted(o.name for o in session.outputs)
    errors = [max_error(want[k], got[k]) for k in want]
    print(f"{label}: max error {max(errors):.3g}")
    assert max(errors) <= tolerance, errors


def run_litert(path: Path, feeds: list[np.ndarray], extra_outputs: tuple[str, ...] = ()) -> list[np.ndarray]:
    """litert's outputs of ``path`` in the model's output order (then ``extra_outputs``, by tensor name)."""
    from litert.runtime.loading import read_model
    from litert.runtime.session import Session

    model = read_model(path)
    model.graph.outputs.extend(extra_outputs)
    session = Session(model)
    out = session.run({i.name: f for i, f in zip(session.inputs, feeds)})
    return [out[o.name] for o in session.outputs]
