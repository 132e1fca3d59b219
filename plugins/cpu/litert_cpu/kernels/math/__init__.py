"""math kernels; importing this package registers them."""
from importlib import import_module

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

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
