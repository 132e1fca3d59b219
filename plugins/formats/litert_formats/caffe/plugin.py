"""Entry point ``litert.formats: caffe``: Caffe's ``.prototxt`` + ``.caffemodel`` reader."""
from ..lazy import FormatHooks

LITERT_PLUGIN_API = 1

_hooks = FormatHooks("caffe", (".prototxt",), reader="litert_formats.caffe.reader:CaffeFrontend")
litert_register_frontends = _hooks.litert_register_frontends
