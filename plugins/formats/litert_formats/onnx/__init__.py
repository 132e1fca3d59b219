"""ONNX reader (:class:`OnnxFrontend`) and writer (:class:`OnnxSerializer`)."""
from .reader import OnnxFrontend
from .writer import OnnxSerializer

__all__ = ["OnnxFrontend", "OnnxSerializer"]
