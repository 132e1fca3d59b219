"""math kernels.  Importing this package registers none: :data:`~litert_cpu.kernels._registry.KERNELS`
imports a kernel's module the first time the kernel is looked up, and
:func:`~litert_cpu.kernels._registry.load_all` imports every module listed here."""

_MODULES: tuple[str, ...] = (
    "unary",
    "activation",
    "binary",
    "variadic",
    "where",
    "clip",
    "cast",
    "reduce",
    "argminmax",
    "cumulative",
    "det",
)
