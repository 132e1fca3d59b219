"""onnxruntime as the test oracle (a test-only dependency)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def ort_run(path: Path | str, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_close_to_scale(got: np.ndarray, want: np.ndarray, tol: float = 1e-3) -> None:
    """Max abs error within ``tol`` of the output's scale (its max magnitude)."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    scale = float(np.max(np.abs(want))) or 1.0
    error = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    assert error <= tol * scale, f"max abs error {error:.3g} > {tol} x scale {scale:.3g}"
