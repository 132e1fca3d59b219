"""Entry point of the toy plugin: the toy backend, and a custom CPU operator."""
from litert.hookspecs import hookimpl


@hookimpl
def litert_register_backends(register):
    from .backend import ToyBackend

    register(ToyBackend())


@hookimpl
def litert_register_schemas(register):
    from .kernels import SCALED_TANH

    register(SCALED_TANH)


@hookimpl
def litert_register_kernels(register):
    from .kernels import DOMAIN, ScaledTanh

    register("cpu", DOMAIN, "ScaledTanh", ScaledTanh)
