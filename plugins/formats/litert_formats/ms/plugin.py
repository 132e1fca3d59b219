"""Entry point ``litert.formats: ms``: MindSpore Lite's ``.ms`` reader and writer."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import MsFrontend

    register(MsFrontend())


@hookimpl
def litert_register_serializers(register):
    from .writer import MsSerializer

    register(MsSerializer())
