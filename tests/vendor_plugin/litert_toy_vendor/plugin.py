"""Entry point of the toy plugin: every hook of the contract (the toy backend, a custom CPU operator, the toy
model format with its reader, writer, graph pass and reference engine)."""
from litert.hookspecs import hookimpl

LITERT_PLUGIN_API = 2


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


@hookimpl
def litert_register_frontends(register):
    from .toyformat import ToyFrontend

    register(ToyFrontend())


@hookimpl
def litert_register_serializers(register):
    from .toyformat import ToySerializer

    register(ToySerializer())


@hookimpl
def litert_register_passes(register):
    from .toyformat import ToyCountingPass

    register(ToyCountingPass())


@hookimpl
def litert_register_reference_engines(register):
    from .toyformat import TOY_REFERENCE

    register(TOY_REFERENCE)
