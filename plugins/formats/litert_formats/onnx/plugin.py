"""Entry point ``litert.formats: onnx``: registers the ONNX reader and writer, and onnxruntime
as ``litert compare``'s reference engine for ONNX files."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend, LazySerializer

LITERT_PLUGIN_API = 2


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('onnx', ('.onnx',), "litert_formats.onnx.reader:OnnxFrontend"))


@hookimpl
def litert_register_serializers(register):
    register(LazySerializer('onnx', ('.onnx',), "litert_formats.onnx.writer:OnnxSerializer"))


@hookimpl
def litert_register_reference_engines(register):
    from .reference import ONNXRUNTIME

    register(ONNXRUNTIME)
