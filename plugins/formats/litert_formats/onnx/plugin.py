"""Entry point ``litert.formats: onnx``: registers the ONNX reader and writer, and onnxruntime
as ``litert compare``'s reference engine for ONNX files."""
from litert.hookspecs import hookimpl

from ..lazy import FormatHooks

LITERT_PLUGIN_API = 2

_hooks = FormatHooks("onnx", (".onnx",), reader="litert_formats.onnx.reader:OnnxFrontend",
                     writer="litert_formats.onnx.writer:OnnxSerializer")
litert_register_frontends = _hooks.litert_register_frontends
litert_register_serializers = _hooks.litert_register_serializers


@hookimpl
def litert_register_reference_engines(register):
    from .reference import ONNXRUNTIME

    register(ONNXRUNTIME)
