"""Entry point ``litert.formats: mindir``: registers the MindSpore MindIR reader and writer."""
from ..lazy import FormatHooks

LITERT_PLUGIN_API = 1

_hooks = FormatHooks("mindir", (".mindir",), reader="litert_formats.mindir.reader:MindirFrontend",
                     writer="litert_formats.mindir.writer:MindirSerializer")
litert_register_frontends = _hooks.litert_register_frontends
litert_register_serializers = _hooks.litert_register_serializers
