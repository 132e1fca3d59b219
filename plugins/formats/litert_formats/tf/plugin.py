"""Entry point ``litert.formats: tf``: TensorFlow's frozen GraphDef reader."""
from ..lazy import FormatHooks

LITERT_PLUGIN_API = 1

_hooks = FormatHooks("tf", (".pb",), reader="litert_formats.tf.reader:TfFrontend")
litert_register_frontends = _hooks.litert_register_frontends
