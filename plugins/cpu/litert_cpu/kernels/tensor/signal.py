"""Signal operators: window functions, DFT, STFT, MelWeightMatrix.

Complex tensors use the ONNX layout: a trailing dimension of 2 (real, imag),
or 1 for a real signal.  FFTs are numpy's pocketfft, which keeps float32
inputs in single precision.
"""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel
from ._common import norm_axis, onnx_dtype

# name -> (cosine coefficients a0, a1, a2): w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)
WINDOWS = {
    "HannWindow": (0.5, 0.5, 0.0),
    "HammingWindow": (25.0 / 46.0, 21.0 / 46.0, 0.0),
    "BlackmanWindow": (0.42, 0.5, 0.08),
}


class _Window(Kernel):
    coeffs = (0.0, 0.0, 0.0)

    def run(self, size):
        n = int(np.asarray(size).reshape(-1)[0])
        denom = n if self.attrs.get("periodic", 1) else n - 1
        a0, a1, a2 = self.coeffs
        phase = 2.0 * np.pi * np.arange(n) / max(denom, 1)
        w = a0 - a1 * np.cos(phase) + a2 * np.cos(2.0 * phase)
        return (w.astype(onnx_dtype(self.attrs.get("output_datatype", 1))),)


for _name, _coeffs in WINDOWS.items():
    kernel(_name)(type(_name, (_Window,), {"coeffs": _coeffs}))


def to_complex(x: np.ndarray) -> np.ndarray:
    """``[..., 1|2]`` real layout -> complex (or real) array without the last dim."""
    if x.shape[-1] == 1:
        return x[..., 0]
    return x[..., 0] + 1j * x[..., 1]


def from_complex(z: np.ndarray, dtype) -> np.ndarray:
    out = np.empty(z.shape + (2,), dtype=dtype)
    out[..., 0] = z.real
    out[..., 1] = z.imag
    return out


@kernel("DFT")
class DFT(Kernel):
    def run(self, x, dft_length=None, axis=None):
        inverse = bool(self.attrs.get("inverse", 0))
        onesided = bool(self.attrs.get("onesided", 0))
        if axis is not None:
            ax = int(np.asarray(axis).reshape(-1)[0])
        else:
            ax = self.attrs.get("axis", -2)  # opset 17 attribute (default 1), else opset 20 default
        ax = norm_axis(ax, x.ndim)
        if ax == x.ndim - 1:
            raise ValueError("DFT axis cannot be the complex dimension")
        signal = to_complex(x)
        if dft_length is not None:
            n = int(np.asarray(dft_length).reshape(-1)[0])
        elif inverse and onesided:
            n = 2 * (x.shape[ax] - 1)
        else:
            n = x.shape[ax]
        if inverse:
            if onesided:
                return (np.fft.irfft(signal, n=n, axis=ax)[..., None].astype(x.dtype),)
            return (from_complex(np.fft.ifft(signal, n=n, axis=ax), x.dtype),)
        if onesided and not np.iscomplexobj(signal):
            z = np.fft.rfft(signal, n=n, axis=ax)
        else:
            z = np.fft.fft(signal, n=n, axis=ax)
            if onesided:
                z = np.take(z, np.arange(n // 2 + 1), axis=ax)
        return (from_complex(z, x.dtype),)


@kernel("STFT")
class STFT(Kernel):
    """Frames ``[batch, length, 1|2]`` with a sliding window, then FFTs each frame."""

    def run(self, signal, frame_step, window=None, frame_length=None):
        step = int(np.asarray(frame_step).reshape(-1)[0])
        if frame_length is not None:
            flen = int(np.asarray(frame_length).reshape(-1)[0])
        elif window is not None:
            flen = window.shape[0]
        else:
            flen = signal.shape[-2]
        z = to_complex(signal)  # [batch, length]
        n_frames = 1 + (z.shape[1] - flen) // step
        starts = np.arange(n_frames) * step
        frames = z[:, starts[:, None] + np.arange(flen)]  # [batch, frames, flen]
        if window is not None:
            frames = frames * window.astype(signal.dtype, copy=False)
        if self.attrs.get("onesided", 1) and not np.iscomplexobj(frames):
            spec = np.fft.rfft(frames, n=flen, axis=-1)
        else:
            spec = np.fft.fft(frames, n=flen, axis=-1)
            if self.attrs.get("onesided", 1):
                spec = spec[..., : flen // 2 + 1]
        return (from_complex(spec, signal.dtype),)


@kernel("MelWeightMatrix")
class MelWeightMatrix(Kernel):
    """Triangular mel filter bank, ``[dft_length // 2 + 1, num_mel_bins]``.

    Follows the ONNX reference arithmetic (HTK mel scale, bins floored to
    FFT indices) so the integer bin edges match exactly.
    """

    def run(self, num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz):
        n_mel = int(num_mel_bins)
        n_fft = int(dft_length)
        n_bins = n_fft // 2 + 1
        low = 2595 * np.log1p(lower_edge_hertz / 700) / np.log(10)
        high = 2595 * np.log1p(upper_edge_hertz / 700) / np.log(10)
        mel_points = np.arange(n_mel + 2) * ((high - low) / (n_mel + 2)) + low
        hz = 700 * np.expm1(mel_points / 2595 * np.log(10))
        edges = (((n_fft + 1) * hz) // sample_rate).astype(np.int64)
        left, center, right = edges[:-2], edges[1:-1], edges[2:]
        j = np.arange(n_bins)[:, None]
        rise_den = np.maximum(center - left, 1)
        fall_den = np.maximum(right - center, 1)
        rise = (j - left) / rise_den
        fall = (right - j) / fall_den
        out = np.zeros((n_bins, n_mel))
        out = np.where((j >= left) & (j <= center), rise, out)
        out = np.where((j >= center) & (j < right) & (right > center), fall, out)
        # Degenerate triangle (left == center): a single 1 at the center bin.
        out = np.where((center == left) & (j == center), 1.0, out)
        dtype = onnx_dtype(self.attrs.get("output_datatype", 1))
        return (out.astype(dtype),)
