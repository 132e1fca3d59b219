"""Helpers shared by the math kernels: ONNX dtype codes, axes handling, erf."""
from __future__ import annotations

import numpy as np

from litert.ir.dtypes import numpy_dtype

# TensorProto.DataType names, for Cast-1..5 whose ``to`` is a string.
ONNX_DTYPE_NAMES = {
    "FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7, "STRING": 8,
    "BOOL": 9, "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13, "COMPLEX64": 14,
    "COMPLEX128": 15, "BFLOAT16": 16, "FLOAT8E4M3FN": 17, "FLOAT8E4M3FNUZ": 18, "FLOAT8E5M2": 19,
    "FLOAT8E5M2FNUZ": 20, "UINT4": 21, "INT4": 22, "FLOAT4E2M1": 23, "FLOAT8E8M0": 24, "UINT2": 25,
    "INT2": 26,
}


def onnx_dtype(code: int | str) -> np.dtype:
    """The numpy dtype of an ONNX ``TensorProto.DataType`` code (or its name)."""
    if isinstance(code, (str, bytes)):
        code = ONNX_DTYPE_NAMES[code.decode() if isinstance(code, bytes) else code.upper()]
    try:
        return numpy_dtype(code)
    except (ValueError, KeyError):
        raise NotImplementedError(f"ONNX data type {code} is not supported") from None


def axes_tuple(axes, ndim: int) -> tuple[int, ...] | None:
    """Normalise an ONNX ``axes`` value (array, list or None) to sorted non-negative ints."""
    if axes is None:
        return None
    axes = np.asarray(axes).reshape(-1)
    return tuple(sorted({int(a) + ndim if a < 0 else int(a) for a in axes}))


# --- erf -----------------------------------------------------------------
# Rational approximation used by Eigen/XLA for float32: erf(x) = x*P(x^2)/Q(x^2)
# on [-4, 4] (erf is +-1 in float32 beyond).  Max error is a few float32 ulps
# everywhere, including tiny |x| where erf(x) ~ 2x/sqrt(pi).
_ERF_ALPHA = np.array(
    [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
     -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
     -1.60960333262415e-02],
    dtype=np.float32,
)
_ERF_BETA = np.array(
    [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
     -7.37332916720468e-03, -1.42647390514189e-02],
    dtype=np.float32,
)


def _polyval_inplace(coeffs: np.ndarray, x2: np.ndarray) -> np.ndarray:
    acc = np.full_like(x2, coeffs[0])
    for c in coeffs[1:]:
        acc *= x2
        acc += c
    return acc


def erf_f32(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Vectorised float32 erf (see the coefficients' comment above)."""
    if x.ndim == 0:
        return erf_f32(x.reshape(1)).reshape(())
    xc = np.clip(x, np.float32(-4.0), np.float32(4.0), dtype=np.float32)
    x2 = xc * xc
    p = _polyval_inplace(_ERF_ALPHA, x2)
    q = _polyval_inplace(_ERF_BETA, x2)
    p *= xc
    res = np.divide(p, q, out=out if out is not None else p)
    return res


def blockwise(fn, x: np.ndarray, block: int = 1 << 15) -> np.ndarray:
    """``fn(x)`` evaluated over cache-sized chunks of a contiguous ``x``.

    For long chains of elementwise numpy calls (erf's two polynomials: ~25
    passes) keeping the temporaries in L2 halves the run time on large
    arrays; short chains gain nothing, so only erf-based kernels use this.
    ``fn`` must keep the dtype and shape of its argument.
    """
    if x.size <= 2 * block or not x.flags.c_contiguous:
        return fn(x)
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for i in range(0, flat.size, block):
        out[i:i + block] = fn(flat[i:i + block])
    return out.reshape(x.shape)


def erf(x: np.ndarray) -> np.ndarray:
    """erf keeping the input's floating dtype (float64 via a float64-accurate path)."""
    if x.dtype == np.float64:
        return _erf_f64(x)
    if x.dtype == np.float32:
        return blockwise(erf_f32, x)
    return blockwise(erf_f32, x.astype(np.float32)).astype(x.dtype)


def _erf_f64(x: np.ndarray) -> np.ndarray:
    """float64 erf: W. J. Cody's rational approximations (as in Cephes ndtr.c)."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax < 1.0
    if small.any():
        xs = x[small]
        z = xs * xs
        t = np.polyval(_CEPHES_T, z)
        u = np.polyval(_CEPHES_U, z)
        out[small] = xs * t / u
    big = ~small
    if big.any():
        out[big] = np.sign(x[big]) * (1.0 - _erfc_f64(ax[big]))
    return out


_CEPHES_T = [9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
             7.00332514112805075473e3, 5.55923013010394962768e4]
_CEPHES_U = [1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
             2.26290000613890934246e4, 4.92673942608635921086e4]
_CEPHES_P = [2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
             4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
             9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2]
_CEPHES_Q = [1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
             9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
             1.65666309194161350182e3, 5.57535340817727675546e2]
_CEPHES_R = [5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
             6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0]
_CEPHES_S = [1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
             1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0]


def _erfc_f64(a: np.ndarray) -> np.ndarray:
    """erfc for a >= 1 (Cephes ndtr.c erfc, positive branch)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        z = np.exp(-a * a)
        p = np.where(a < 8.0, np.polyval(_CEPHES_P, a) / np.polyval(_CEPHES_Q, a),
                     np.polyval(_CEPHES_R, a) / np.polyval(_CEPHES_S, a))
        y = z * p
    y = np.where(np.isnan(a), np.nan, y)
    return np.where(a > 27.0, 0.0, y)
