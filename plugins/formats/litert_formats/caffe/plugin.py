"""Entry point ``litert.formats: caffe``: Caffe's ``.prototxt`` + ``.caffemodel`` reader."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    from .reader import CaffeFrontend

    register(CaffeFrontend())
