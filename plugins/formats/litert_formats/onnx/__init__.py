"""ONNX reader (:class:`OnnxFrontend`) and writer (:class:`OnnxSerializer`)."""
from ..lazy import lazy_exports

__all__ = ["OnnxFrontend", "OnnxSerializer"]
__getattr__ = lazy_exports(__name__, {"OnnxFrontend": ".reader", "OnnxSerializer": ".writer"})
