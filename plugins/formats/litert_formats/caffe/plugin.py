"""Entry point ``litert.formats: caffe``: Caffe's ``.prototxt`` + ``.caffemodel`` reader."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('caffe', ('.prototxt',), "litert_formats.caffe.reader:CaffeFrontend"))
