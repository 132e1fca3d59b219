"""Entry point of the CPU backend (group ``litert.backends``, name ``cpu``)."""
from litert.hookspecs import hookimpl


@hookimpl
def litert_register_backends(register):
    from .backend import CpuBackend

    register(CpuBackend())
