"""litert model formats.  Each format lives in its own subpackage (``onnx``)."""
