"""Entry point ``litert.formats: tf``: TensorFlow's frozen GraphDef reader."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import TfFrontend

    register(TfFrontend())
