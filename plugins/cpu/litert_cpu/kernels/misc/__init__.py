"""misc kernels; importing this package registers them."""
from importlib import import_module

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

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
