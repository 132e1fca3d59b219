"""misc kernels.  Importing this package registers none: :data:`~litert_cpu.kernels._registry.KERNELS`
imports a kernel's module the first time the kernel is looked up, and
:func:`~litert_cpu.kernels._registry.load_all` imports every module listed here."""

_MODULES: tuple[str, ...] = (
    "if_",
    "loop",
    "scan",
    "sequence",
    "sequence_map",
    "optional",
    "training",
    "flex_attention",
)
