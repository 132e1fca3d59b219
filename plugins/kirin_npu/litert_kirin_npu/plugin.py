"""Entry point (group ``litert.backends``, name ``kirin_npu``)."""
from litert.hookspecs import hookimpl


@hookimpl
def litert_register_backends(register):
    from .backend import KirinNpuBackend

    register(KirinNpuBackend())
