"""Entry point ``litert.formats: tflite``: TensorFlow Lite's ``.tflite`` reader."""
from ..lazy import FormatHooks

LITERT_PLUGIN_API = 1

_hooks = FormatHooks("tflite", (".tflite",), reader="litert_formats.tflite.reader:TfliteFrontend")
litert_register_frontends = _hooks.litert_register_frontends
