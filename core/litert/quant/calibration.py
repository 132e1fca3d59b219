"""Calibration samples from ``[data_preprocess_param]``: one folder per model input, BIN or IMAGE files.

BIN files hold one input tensor as raw little-endian bytes of the input's dtype and shape as the model
declares them (litert reads ONNX models in their own NCHW layout).  IMAGE files are read with Pillow,
converted to ``image_to_format``, resized and centre-cropped, normalised as ``(x - mean) / std`` and laid
out as the input wants (NCHW when its second dimension is the channel count, else NHWC).  Every
problem (a missing or empty folder, an image of the wrong size, a BIN file of the wrong length) is one
:class:`~litert.errors.CalibrationError` naming the file.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CalibrationError
from ..ir import DType, Graph, Shape


@dataclass(frozen=True)
class InputSpec:
    """What the model expects for one input."""

    name: str
    dtype: np.dtype
    shape: Shape

    def static_shape(self) -> tuple[int, ...]:
        """The shape, which calibration needs fully known (CalibrationError otherwise)."""
        dims = tuple(d for d in self.shape if isinstance(d, int))
        if len(dims) != len(self.shape):
            raise CalibrationError(f"input {self.name} has a dynamic shape {list(self.shape)}; fix it with "
                                   "--input-shape for calibration")
        return dims


def _files(folder: str, input_name: str) -> list[Path]:
    path = Path(folder)
    if not path.is_dir():
        raise CalibrationError(f"calibrate_path {input_name}:{folder}: no such folder")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise CalibrationError(f"calibrate_path {input_name}:{folder}: the folder is empty")
    return files


class CalibrationSet:
    """The calibration samples of a model, read lazily one sample at a time (bounded memory)."""

    def __init__(self, preprocess: dict[str, Any], inputs: list[InputSpec]):
        self.preprocess = preprocess
        self.inputs = {spec.name: spec for spec in inputs}
        paths: dict[str, str] = preprocess["calibrate_path"]
        unknown = sorted(set(paths) - set(self.inputs))
        if unknown:
            raise CalibrationError(f"calibrate_path names {', '.join(unknown)}, which the model does not have as "
                                   f"inputs (inputs: {', '.join(self.inputs)})")
        missing = sorted(set(self.inputs) - set(paths))
        if missing:
            raise CalibrationError(f"calibrate_path gives no folder for model input(s) {', '.join(missing)}")
        self.files = {name: _files(folder, name)[: preprocess["calibrate_size"]] for name, folder in paths.items()}
        counts = {len(files) for files in self.files.values()}
        #: samples used: calibrate_size, or fewer when a folder has fewer files
        self.size = min(counts)
        for spec in inputs:
            spec.static_shape()

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        for index in range(self.size):
            yield {name: self._read(self.files[name][index], spec) for name, spec in self.inputs.items()}

    def _read(self, path: Path, spec: InputSpec) -> np.ndarray:
        if self.preprocess["input_type"] == "BIN":
            return read_bin(path, spec)
        return read_image(path, spec, self.preprocess)


def read_bin(path: Path, spec: InputSpec) -> np.ndarray:
    shape = spec.static_shape()
    expected = int(np.prod(shape, dtype=np.int64)) * spec.dtype.itemsize
    size = path.stat().st_size
    if size != expected:
        raise CalibrationError(f"{path}: {size} bytes, but input {spec.name} {list(spec.shape)} of "
                               f"{spec.dtype.name} takes {expected}")
    return np.fromfile(path, dtype=spec.dtype.newbyteorder("<")).astype(spec.dtype).reshape(shape)


_RESAMPLING = {"LINEAR": "BILINEAR", "NEAREST": "NEAREST", "CUBIC": "BICUBIC"}


def read_image(path: Path, spec: InputSpec, preprocess: dict[str, Any]) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise CalibrationError("input_type=IMAGE needs Pillow (pip install Pillow)") from None
    try:
        opened = Image.open(path)
        opened.load()
        image: Image.Image = opened
    except Exception as err:  # Pillow raises several types for unreadable files
        raise CalibrationError(f"{path}: not a readable image ({err})") from None
    fmt = preprocess["image_to_format"] or "RGB"
    image = image.convert("L" if fmt == "GRAY" else "RGB")
    if preprocess["resize_width"] is not None:
        resample = getattr(Image.Resampling, _RESAMPLING[preprocess["resize_method"]])
        image = image.resize((preprocess["resize_width"], preprocess["resize_height"]), resample)
    if preprocess["center_crop_width"] is not None:
        width, height = preprocess["center_crop_width"], preprocess["center_crop_height"]
        if width > image.width or height > image.height:
            raise CalibrationError(f"{path}: centre crop {width}x{height} is larger than the image "
                                   f"{image.width}x{image.height}")
        left, top = (image.width - width) // 2, (image.height - height) // 2
        image = image.crop((left, top, left + width, top + height))
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if fmt == "BGR":
        pixels = pixels[:, :, ::-1]
    if preprocess["normalize_mean"] is not None:
        mean = np.asarray(preprocess["normalize_mean"], np.float32)
        std = np.asarray(preprocess["normalize_std"], np.float32)
        if mean.size not in (1, pixels.shape[2]) or std.size not in (1, pixels.shape[2]):
            raise CalibrationError(f"normalize_mean/normalize_std have {mean.size}/{std.size} values for "
                                   f"{pixels.shape[2]}-channel images")
        pixels = (pixels - mean) / std
    return _layout(pixels, spec, path)


def _layout(pixels: np.ndarray, spec: InputSpec, path: Path) -> np.ndarray:
    """HWC pixels -> the input's NCHW or NHWC shape (batch 1), or a clear error when they do not fit."""
    height, width, channels = pixels.shape
    shape = spec.shape
    if len(shape) == 4 and shape[0] == 1 and tuple(shape[1:]) == (channels, height, width):
        array = pixels.transpose(2, 0, 1)[None]
    elif len(shape) == 4 and shape[0] == 1 and tuple(shape[1:]) == (height, width, channels):
        array = pixels[None]
    else:
        raise CalibrationError(f"{path}: image {width}x{height} with {channels} channel(s) does not fit input "
                               f"{spec.name} {list(shape)} (set resize_*/center_crop_*/image_to_format)")
    return np.ascontiguousarray(array, dtype=spec.dtype)


def input_specs(graph: Graph) -> list[InputSpec]:
    """The calibration shape of each graph input: a symbolic batch (first) dimension counts as 1."""
    specs = []
    for name in graph.inputs:
        value = graph.values[name]
        if value.is_const:
            continue
        dtype = value.dtype.numpy if isinstance(value.dtype, DType) else np.dtype(np.float32)
        shape = tuple(value.shape or ())
        if shape and not isinstance(shape[0], int):
            shape = (1,) + shape[1:]
        specs.append(InputSpec(name, np.dtype(dtype), shape))
    return specs
