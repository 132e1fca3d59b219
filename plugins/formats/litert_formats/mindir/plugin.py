"""Entry point ``litert.formats: mindir``: registers the MindSpore MindIR reader and writer."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import MindirFrontend

    register(MindirFrontend())


@hookimpl
def litert_register_serializers(register):
    from .writer import MindirSerializer

    register(MindirSerializer())
