"""Entry point ``litert.formats: onnx``: registers the ONNX reader and writer, and onnxruntime
as ``litert compare``'s reference engine for ONNX files."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 2


@hookimpl
def litert_register_frontends(register):
    from .reader import OnnxFrontend

    register(OnnxFrontend())


@hookimpl
def litert_register_serializers(register):
    from .writer import OnnxSerializer

    register(OnnxSerializer())


@hookimpl
def litert_register_reference_engines(register):
    from .reference import ONNXRUNTIME

    register(ONNXRUNTIME)
