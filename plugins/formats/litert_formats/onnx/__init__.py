"""ONNX reader (:class:`OnnxFrontend`) and writer (:class:`OnnxSerializer`)."""


def __getattr__(name):
    # imported on first use: registering the format must not load the reader (see ..lazy)
    if name == "OnnxFrontend":
        from .reader import OnnxFrontend
        return OnnxFrontend
    if name == "OnnxSerializer":
        from .writer import OnnxSerializer
        return OnnxSerializer
    raise AttributeError(name)


__all__ = ["OnnxFrontend", "OnnxSerializer"]
