"""nn kernels; importing this package registers them."""
from importlib import import_module

_MODULES: tuple[str, ...] = (
    "conv",
    "matmul",
    "pool",
    "norm",
    "softmax",
)

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
