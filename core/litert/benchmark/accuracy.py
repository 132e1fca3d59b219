"""Accuracy figures, and the reference-data files they are computed against.

The mean bias is MindSpore Lite's (``tools/benchmark``): an element is in
error when ``|out - ref| > 1e-8 + 1e-5 * |ref|``; it then adds its relative
error ``|out - ref| / |ref|`` (its absolute error, when ``ref`` is 0 and the
error is over 1e-5); the tensor's bias is the mean over the elements in
error, in percent.  Like MindSpore Lite, a float output holding NaN or Inf
fails at once.

One deliberate difference: MindSpore Lite fails when the *average* of the
per-tensor biases is over the threshold; litert fails when *any* tensor's
bias is over it, so that one broken intermediate among many good ones is not
averaged away (every case MindSpore Lite fails, litert fails too).

Reference files: ``.npz`` (tensors by name), a single ``.npy`` (the model's
only output), or MindSpore Lite's text calibration file: per tensor one line
``name rank d0 d1 ...`` and one line of ``prod(dims)`` whitespace-separated
numbers; when a name appears twice the first block wins.
"""
from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..errors import InputError
from .result import AccuracyReport, TensorAccuracy

ABSOLUTE_TOLERANCE = 1e-8
RELATIVE_TOLERANCE = 1e-5
MIN_ABSOLUTE_ERROR = 1e-5  # when the reference element is zero
_FLT_EPSILON = float(np.finfo(np.float32).eps)
_FLT_MIN = float(np.finfo(np.float32).tiny)

_NPZ_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


# ---------------------------------------------------------------- metrics


def mean_bias(actual: np.ndarray, expected: np.ndarray) -> float:
    """MindSpore Lite's mean relative bias of ``actual`` against ``expected`` (a fraction, not percent)."""
    out = np.asarray(actual, dtype=np.float64).ravel()
    ref = np.asarray(expected, dtype=np.float64).ravel()
    error = np.abs(out - ref)
    in_error = error > ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * np.abs(ref)
    near_zero = np.abs(ref) < _FLT_EPSILON
    in_error &= ~near_zero | (error > MIN_ABSOLUTE_ERROR)
    if not in_error.any():
        return 0.0
    contribution = np.where(near_zero, error, error / (np.abs(ref) + _FLT_MIN))
    return float(contribution[in_error].mean())


def cosine_similarity(actual: np.ndarray, expected: np.ndarray) -> float:
    """Cosine of the angle between the flattened tensors; 1.0 when both are all zero."""
    a = np.asarray(actual, dtype=np.float64).ravel()
    b = np.asarray(expected, dtype=np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def max_abs_error(actual: np.ndarray, expected: np.ndarray) -> float:
    if np.asarray(actual).size == 0:
        return 0.0
    return float(np.max(np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))))


def non_finite(array: np.ndarray) -> bool:
    array = np.asarray(array)
    return array.dtype.kind in "fc" and not bool(np.isfinite(array).all())


def check_tensor(name: str, actual: np.ndarray, expected: np.ndarray, threshold_percent: float,
                 cosine_threshold: float | None = None, is_output: bool = True) -> TensorAccuracy:
    """Figures for one tensor; the shapes must already match."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    shape = [int(d) for d in actual.shape]
    if non_finite(actual):
        return TensorAccuracy(name, shape, float("inf"), float("inf"), float("nan"), False, is_output,
                              "output holds NaN or Inf")
    bias = mean_bias(actual, expected) * 100.0
    cosine = cosine_similarity(actual, expected)
    passed = bias <= threshold_percent
    notes = [] if actual.dtype == expected.dtype else [f"dtype {actual.dtype} vs reference {expected.dtype}"]
    if not passed:
        notes.append(f"mean bias {bias:.4g}% > {threshold_percent:g}%")
    if cosine_threshold is not None and cosine < cosine_threshold:
        passed = False
        notes.append(f"cosine {cosine:.6f} < {cosine_threshold:g}")
    return TensorAccuracy(name, shape, bias, max_abs_error(actual, expected), cosine, passed, is_output,
                          "; ".join(notes))


def check_accuracy(actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], *, reference: str,
                   threshold_percent: float = 0.5, cosine_threshold: float | None = None,
                   outputs: frozenset[str] | set[str] = frozenset()) -> AccuracyReport:
    """Compare every reference tensor with the model's tensor of that name.

    ``actual`` must hold every name of ``expected`` (the caller checked the
    names against the model before running); a shape mismatch is an
    :class:`InputError` naming the tensor and both shapes.
    """
    tensors = []
    for name, ref in expected.items():
        out = np.asarray(actual[name])
        ref = np.asarray(ref)
        if out.shape != ref.shape:
            raise InputError(
                f"benchmark data {reference}: tensor {name!r} has shape {list(ref.shape)} "
                f"but the model computes shape {list(out.shape)}"
            )
        tensors.append(check_tensor(name, out, ref, threshold_percent, cosine_threshold, name in outputs))
    finite = [t.mean_bias_percent for t in tensors]
    overall = float(np.mean(finite)) if finite else 0.0
    return AccuracyReport(reference, threshold_percent, cosine_threshold, tensors, overall)


# ---------------------------------------------------------------- reference files


def read_reference(path: str | Path, output_names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Tensors by name from ``.npz``, ``.npy`` (needs the model to have one output) or a calibration file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"benchmark data {path}: no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_NPZ_MAGIC):
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (ValueError, OSError) as err:
            raise InputError(f"benchmark data {path}: not a readable .npz ({err})") from None
    if head.startswith(_NPY_MAGIC):
        if not output_names or len(output_names) != 1:
            raise InputError(f"benchmark data {path}: a .npy holds one unnamed tensor, but the model has "
                             f"{len(output_names or [])} outputs; use a .npz keyed by tensor name")
        try:
            return {output_names[0]: np.load(path, allow_pickle=False)}
        except (ValueError, OSError) as err:
            raise InputError(f"benchmark data {path}: not a readable .npy ({err})") from None
    return read_calibration_file(path)


def read_calibration_file(path: str | Path) -> dict[str, np.ndarray]:
    """Parse MindSpore Lite's text calibration layout (see the module docstring); float32 tensors."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise InputError(f"benchmark data {path}: neither .npz/.npy nor a text calibration file") from None
    tensors: dict[str, np.ndarray] = {}
    index = 0
    while index < len(lines):
        header = lines[index].split()
        index += 1
        if not header:
            continue
        name, dims = header[0], _parse_dims(path, index, header)
        if index >= len(lines):
            raise InputError(f"benchmark data {path}: line {index}: tensor {name!r} has no values line")
        try:
            values = np.array(lines[index].split(), dtype=np.float32)
        except ValueError:
            raise InputError(f"benchmark data {path}: line {index + 1}: values of {name!r} are not numbers "
                             "(string tensors are not supported)") from None
        index += 1
        expected = int(np.prod(dims)) if dims else 1
        if values.size != expected:
            raise InputError(f"benchmark data {path}: line {index}: tensor {name!r} with dims {dims} needs "
                             f"{expected} values, found {values.size}")
        tensors.setdefault(name, values.reshape(dims))  # first block wins, as in MindSpore Lite
    if not tensors:
        raise InputError(f"benchmark data {path}: no tensors found")
    return tensors


def _parse_dims(path: Path, line: int, header: list[str]) -> list[int]:
    try:
        rank = int(header[1])
        dims = [int(d) for d in header[2:]]
    except (IndexError, ValueError):
        raise InputError(f"benchmark data {path}: line {line}: expected 'name rank d0 d1 ...', "
                         f"got {' '.join(header)!r}") from None
    if rank != len(dims) or any(d < 0 for d in dims):
        raise InputError(f"benchmark data {path}: line {line}: rank {rank} does not match dims {dims}")
    return dims


def write_calibration_file(path: str | Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write tensors in MindSpore Lite's calibration layout (what its ``mslite_gold.py`` makes)."""
    with atomic_write(path, "w") as f:
        for name, array in tensors.items():
            if any(c.isspace() for c in name):
                raise InputError(f"calibration files cannot hold tensor names with spaces: {name!r}")
            array = np.asarray(array)
            f.write(" ".join([name, str(array.ndim), *map(str, array.shape)]) + "\n")
            f.write(" ".join(repr(float(v)) for v in array.ravel()) + "\n")


def write_npz(path: str | Path, tensors: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` for any tensor names (``np.savez(**tensors)`` breaks on a tensor called ``file``)."""
    with atomic_write(path) as out, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in tensors.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
