"""Entry point ``litert.formats: mindir``: registers the MindSpore MindIR reader and writer."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend, LazySerializer

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('mindir', ('.mindir',), "litert_formats.mindir.reader:MindirFrontend"))


@hookimpl
def litert_register_serializers(register):
    register(LazySerializer('mindir', ('.mindir',), "litert_formats.mindir.writer:MindirSerializer"))
