"""Cast, CastLike and BitCast over every ONNX data type numpy/ml_dtypes can hold.

Rules (ONNX Cast-25 spec, matched against onnxruntime where the spec is loose):

* float8 E4M3FN/E4M3FNUZ/E5M2/E5M2FNUZ with ``saturate=1`` (default): clamp to
  the finite range first (so +-inf and overflow give +-FLT_MAX), then round to
  nearest even; with ``saturate=0`` ml_dtypes' plain conversion (overflow ->
  NaN or inf as the table in the spec says).
* FLOAT8E8M0: exponent-only encoding with ``round_mode`` up/down/nearest.
* numbers -> string: ``%.8g`` with ``NaN``/``INF``/``-INF`` (as onnxruntime).
* string -> numbers: as onnxruntime (C++ ``std::stod`` / ``std::stoll``): the
  longest numeric prefix counts (``"1a"`` -> 1, ``"0x10"`` -> 16.0 as a float,
  ``"2.7"`` -> 2 as an integer), a string with no numeric prefix (``"a"``) or a
  float literal out of range is an error, never a made-up number.
* everything else is ``ndarray.astype`` (integers wrap, bool is ``!= 0``).
"""
from __future__ import annotations

import re

import ml_dtypes
import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import onnx_dtype

_E8M0 = np.dtype(ml_dtypes.float8_e8m0fnu)
# The float8 types whose Cast honours ``saturate``.
FLOAT8_SATURATING = frozenset(np.dtype(t) for t in (ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e4m3fnuz,
                                                    ml_dtypes.float8_e5m2, ml_dtypes.float8_e5m2fnuz))
# Narrow ml_dtypes integer types (numpy does not see them as np.integer).
NARROW_INTS = frozenset(np.dtype(getattr(ml_dtypes, n)) for n in ("uint4", "int4", "uint2", "int2") if hasattr(ml_dtypes, n))
_STRING = np.dtype(object)


def to_float8e8m0(x: np.ndarray, saturate: bool, round_mode: str) -> np.ndarray:
    """Round float32 values to E8M0 (power-of-two scales), returning the E8M0 array."""
    bits = np.asarray(x, dtype=np.float32, order="C").view(np.uint32)
    exponent = ((bits >> 23) & 0xFF).astype(np.uint16)
    special = exponent == 0xFF
    mantissa = bits & 0x7FFFFF
    if round_mode == "up":
        up = mantissa > 0
    elif round_mode == "nearest":
        guard = (bits & 0x400000) > 0
        rest = (bits & 0x3FFFFF) > 0
        up = guard & (rest | (exponent > 0))
    elif round_mode == "down":
        up = np.zeros(bits.shape, dtype=bool)
    else:
        raise ValueError(f"Cast: unsupported round_mode {round_mode!r}")
    up &= ~special
    if saturate:
        up &= exponent != 0xFE
    exponent += up.astype(np.uint16)
    out = np.minimum(exponent, 0xFF).astype(np.uint8)
    nan = special & (mantissa > 0)
    if saturate:
        out[special] = 0xFE  # +-inf -> E8M0_MAX
    out[nan] = 0xFF
    return out.view(_E8M0)


def _format_floats(x: np.ndarray) -> np.ndarray:
    """Numbers -> object array of str, ``%.8g`` with ONNX special-value names."""
    f = x.astype(np.float64)
    out = np.char.mod("%.8g", f).astype(object)
    out[np.isnan(f)] = "NaN"
    out[f == np.inf] = "INF"
    out[f == -np.inf] = "-INF"
    return out


def _to_string(x: np.ndarray) -> np.ndarray:
    if x.dtype == _STRING:
        return x
    if x.dtype.kind == "b":
        return np.where(x, "1", "0").astype(object)
    if x.dtype.kind in "iu":
        return x.astype(np.str_).astype(object)
    return _format_floats(x)


# The longest prefix C++ std::stod / std::stoll accept (onnxruntime's string -> number Cast).
_STOD = re.compile(
    r"\s*[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan(?:\([0-9a-zA-Z_]*\))?)",
    re.IGNORECASE,
)
_STOLL = re.compile(r"\s*[+-]?[0-9]+")


def _parse_float(s) -> float:
    """``std::stod``: the longest numeric prefix (decimal, hex float, inf, nan); none or overflow is an error."""
    text = str(s)
    match = _STOD.match(text)
    if match is None:
        raise ValueError(f"Cast: cannot convert string {text[:40]!r} to a number")
    literal = match.group().strip()
    value = float.fromhex(literal) if "x" in literal.lower() else float(literal.split("(")[0])
    if value in (float("inf"), float("-inf")) and "inf" not in literal.lower():
        raise ValueError(f"Cast: {text[:40]!r} is out of the range of a double")
    return value


def _parse_int(s) -> int:
    """``std::stoll`` base 10: the longest integer prefix; ``true``/``false`` as 1/0."""
    text = str(s)
    low = text.strip().lower()
    if low in ("true", "false"):
        return int(low == "true")
    match = _STOLL.match(text)
    if match is None:
        raise ValueError(f"Cast: cannot convert string {text[:40]!r} to an integer")
    return int(match.group())


def _from_string(x: np.ndarray, dtype: np.dtype, saturate: bool, round_mode: str) -> np.ndarray:
    flat = x.reshape(-1)
    if dtype.kind in "iub" or dtype in NARROW_INTS:
        try:
            vals = flat.astype(np.str_).astype(np.int64)
        except (ValueError, OverflowError):
            # Two's complement wrap of arbitrary Python ints, as C++ stoll/stoull would.
            vals = np.array([_parse_int(s) & 0xFFFFFFFFFFFFFFFF for s in flat], dtype=np.uint64)
        if dtype.kind == "b":
            return (vals != 0).reshape(x.shape)
        return _astype(vals, dtype).reshape(x.shape)
    try:
        vals = flat.astype(np.str_).astype(np.float64)
        if np.isinf(vals).any():  # "1e999" overflows (an error for stod), "inf" does not
            raise ValueError
    except ValueError:
        vals = np.array([_parse_float(s) for s in flat], dtype=np.float64)
    return cast_array(vals.reshape(x.shape), dtype, saturate, round_mode)


def _astype(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``astype``, going through float32/int64 for ml_dtypes pairs without a direct cast."""
    try:
        return x.astype(dtype)
    except TypeError:
        mid = np.int64 if x.dtype in NARROW_INTS or x.dtype.kind in "iub" else np.float32
        return x.astype(mid).astype(dtype)


def cast_array(x: np.ndarray, dtype: np.dtype, saturate: bool = True, round_mode: str = "up") -> np.ndarray:
    """Cast ``x`` to ``dtype`` following the ONNX Cast rules (see module doc)."""
    if x.dtype == dtype:
        return x
    if dtype == _STRING:
        return _to_string(x)
    if x.dtype == _STRING:
        return _from_string(x, dtype, saturate, round_mode)
    with np.errstate(all="ignore"):
        if dtype in FLOAT8_SATURATING and saturate:
            if x.dtype.kind != "f":  # ints, bool, bfloat16 and other ml_dtypes floats
                x = x.astype(np.float32)
            info = ml_dtypes.finfo(dtype)
            return np.clip(x, float(info.min), float(info.max)).astype(dtype)
        if dtype == _E8M0:
            return to_float8e8m0(x, saturate, round_mode)
        return _astype(x, dtype)


class _CastBase(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.saturate = bool(attrs.get("saturate", 1))
        self.round_mode = attrs.get("round_mode", "up")
        self.dtype = onnx_dtype(attrs["to"]) if "to" in attrs else None  # Cast's; CastLike takes its input's


@kernel("Cast")
class Cast(_CastBase):
    def run(self, x):
        return (np.asarray(cast_array(x, self.dtype, self.saturate, self.round_mode)),)


@kernel("CastLike")
class CastLike(_CastBase):
    def run(self, x, like):
        return (np.asarray(cast_array(x, like.dtype, self.saturate, self.round_mode)),)


@kernel("BitCast")
class BitCast(Kernel):
    """Reinterprets the bytes of each element; both types must have the same width."""

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.dtype = onnx_dtype(attrs["to"])

    def run(self, x):
        if x.dtype.itemsize != self.dtype.itemsize or _STRING in (x.dtype, self.dtype):
            raise ValueError(f"BitCast: cannot reinterpret {x.dtype} as {self.dtype}")
        if not x.flags.c_contiguous:
            x = x.copy()
        return (x.view(self.dtype),)
