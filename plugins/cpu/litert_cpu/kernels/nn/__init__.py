"""nn kernels; importing this package registers them."""
from importlib import import_module

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

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
