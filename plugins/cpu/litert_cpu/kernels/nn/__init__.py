"""nn kernels.  Importing this package registers none: :data:`~litert_cpu.kernels._registry.KERNELS`
imports a kernel's module the first time the kernel is looked up, and
:func:`~litert_cpu.kernels._registry.load_all` imports every module listed here."""

_MODULES: tuple[str, ...] = (
    "conv",
    "matmul",
    "pool",
    "roi_pool",
    "norm",
    "softmax",
    "convtranspose",
    "col2im",
    "space",
    "einsum",
    "resize",
    "grid",
    "roi_align",
    "deform_conv",
    "rnn",
    "attention",
    "rotary",
    "swiglu",
    "linear_attention",
    "causal_conv",
    "quant",
    "qlinear",
    "qlinear_contrib",
)
