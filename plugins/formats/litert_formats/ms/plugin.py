"""Entry point ``litert.formats: ms``: MindSpore Lite's ``.ms`` reader and writer."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend, LazySerializer

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('ms', ('.ms',), "litert_formats.ms.reader:MsFrontend"))


@hookimpl
def litert_register_serializers(register):
    register(LazySerializer('ms', ('.ms',), "litert_formats.ms.writer:MsSerializer"))
