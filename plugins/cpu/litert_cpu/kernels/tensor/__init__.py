"""tensor kernels.  Importing this package registers none: :data:`~litert_cpu.kernels._registry.KERNELS`
imports a kernel's module the first time the kernel is looked up, and
:func:`~litert_cpu.kernels._registry.load_all` imports every module listed here."""

_MODULES: tuple[str, ...] = (
    "shape",
    "transpose",
    "concat_split",
    "slice",
    "gather",
    "scatter",
    "expand",
    "generators",
    "pad",
    "select",
    "sort",
    "signal",
    "strings",
    "losses",
    "ml",
    "nms",
    "random",
    "image",
)
