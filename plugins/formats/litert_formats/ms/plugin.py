"""Entry point ``litert.formats: ms``: MindSpore Lite's ``.ms`` reader and writer."""
from ..lazy import FormatHooks

LITERT_PLUGIN_API = 1

_hooks = FormatHooks("ms", (".ms",), reader="litert_formats.ms.reader:MsFrontend",
                     writer="litert_formats.ms.writer:MsSerializer")
litert_register_frontends = _hooks.litert_register_frontends
litert_register_serializers = _hooks.litert_register_serializers
