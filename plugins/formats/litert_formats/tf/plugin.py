"""Entry point ``litert.formats: tf``: TensorFlow's frozen GraphDef reader."""
from litert.hookspecs import hookimpl

from ..lazy import LazyFrontend

LITERT_PLUGIN_API = 1


@hookimpl
def litert_register_frontends(register):
    register(LazyFrontend('tf', ('.pb',), "litert_formats.tf.reader:TfFrontend"))
