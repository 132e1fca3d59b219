"""tensor kernels; importing this package registers them."""
from importlib import import_module

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

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
