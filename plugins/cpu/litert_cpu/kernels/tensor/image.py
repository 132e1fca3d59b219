"""ImageDecoder: encoded bytes (JPEG, PNG, BMP, TIFF, WebP, JPEG 2000, PNM) to HWC uint8.

Decoding is Pillow's job (install ``litert-cpu[image]``); it is imported when
a model with an ImageDecoder is compiled, so models without one never need it.
"""
from __future__ import annotations

import io

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("ImageDecoder")
class ImageDecoder(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        try:
            import PIL.Image
        except ImportError as err:
            raise RuntimeError("ImageDecoder needs Pillow: pip install 'litert-cpu[image]'") from err
        self._open = PIL.Image.open
        self.pixel_format = attrs.get("pixel_format", "RGB")
        if self.pixel_format not in ("RGB", "BGR", "Grayscale"):
            raise ValueError(f"pixel_format {self.pixel_format!r} is not one of RGB, BGR, Grayscale")

    def run(self, encoded):
        image = self._open(io.BytesIO(np.asarray(encoded).tobytes()))
        if self.pixel_format == "Grayscale":
            return (np.asarray(image.convert("L"))[:, :, None],)
        decoded = np.asarray(image.convert("RGB"))
        return (np.ascontiguousarray(decoded[:, :, ::-1]) if self.pixel_format == "BGR" else decoded,)
