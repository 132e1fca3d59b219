"""Entry point ``litert.formats: onnx``: registers the ONNX reader and writer."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import OnnxFrontend

    register(OnnxFrontend())


@hookimpl
def litert_register_serializers(register):
    from .writer import OnnxSerializer

    register(OnnxSerializer())
