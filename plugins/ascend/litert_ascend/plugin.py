"""Entry point (group ``litert.backends``, name ``ascend``)."""
from litert.hookspecs import hookimpl


@hookimpl
def litert_register_backends(register):
    from .backend import AscendBackend

    register(AscendBackend())
