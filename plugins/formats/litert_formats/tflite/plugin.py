"""Entry point ``litert.formats: tflite``: TensorFlow Lite's ``.tflite`` reader."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('tflite', ('.tflite',), "litert_formats.tflite.reader:TfliteFrontend"))
