"""Entry point ``litert.formats: tflite``: TensorFlow Lite's ``.tflite`` reader."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import TfliteFrontend

    register(TfliteFrontend())
