"""Entry point of the toy backend."""
from litert.hookspecs import hookimpl


@hookimpl
def litert_register_backends(register):
    from .backend import ToyBackend

    register(ToyBackend())
