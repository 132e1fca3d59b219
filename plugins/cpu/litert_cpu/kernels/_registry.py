"""The table of CPU kernels: ``(domain, op_type) -> Kernel class``, each module imported on first use.

The ``@kernel`` decorators in the kernel modules are the owners of the table.  Importing all of
those modules took 15-19 ms of a process's first load while a model needs a handful of them, so
:data:`KERNELS` answers "is there a kernel for this operator" from :data:`._index.INDEX`
(operator -> the module whose import registers it) and imports that module the first time the
kernel class is asked for.  ``_index.py`` is generated from the decorators
(``python tools/gen_kernel_index.py``); ``plugins/cpu/tests/test_kernel_index.py`` fails when it
no longer matches them.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._base import Kernel
from ._index import INDEX

FAMILIES = ("math", "misc", "nn", "tensor")


class KernelTable(Mapping[tuple[str, str], type[Kernel]]):
    """The registered kernel classes, plus the indexed ones whose module is not imported yet."""

    def __init__(self, index: Mapping[tuple[str, str], str]) -> None:
        self._index = index
        self.loaded: dict[tuple[str, str], type[Kernel]] = {}
        #: the module whose import registered each loaded kernel (what the index must say)
        self.registered_by: dict[tuple[str, str], str] = {}

    def __getitem__(self, key: tuple[str, str]) -> type[Kernel]:
        cls = self.loaded.get(key)
        if cls is None:
            module = self._index.get(key)
            if module is None:
                raise KeyError(key)
            importlib.import_module(f"{__package__}.{module}")
            cls = self.loaded.get(key)
            if cls is None:  # the index is stale: tests/test_kernel_index.py says how to regenerate it
                raise LookupError(f"kernel index: importing {module} registered no kernel for {key}")
        return cls

    def get(self, key: tuple[str, str], default: Any = None) -> Any:  # the executor asks once per node
        cls = self.loaded.get(key)
        if cls is not None:
            return cls
        return self[key] if key in self._index else default

    def __contains__(self, key: object) -> bool:  # the partitioner asks once per node
        return key in self.loaded or key in self._index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield from self.loaded
        yield from (key for key in self._index if key not in self.loaded)

    def __len__(self) -> int:
        return len(self.loaded) + sum(key not in self.loaded for key in self._index)

    def register(self, key: tuple[str, str], cls: type[Kernel]) -> None:
        if key in self.loaded:
            raise ValueError(f"two CPU kernels for {key[0] or 'ai.onnx'}::{key[1]}")
        self.loaded[key] = cls
        self.registered_by[key] = _importing_module()


KERNELS = KernelTable(INDEX)


def _importing_module() -> str:
    """The module whose top-level code is running the registration (a factory in a ``_common``
    module may build the class, but the import of the module calling it is what registers it)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back  # type: ignore[assignment]
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    prefix = f"{__package__}."
    return name[len(prefix):] if name.startswith(prefix) else name


def kernel(op_type: str, domain: str = "") -> Callable[[type[Kernel]], type[Kernel]]:
    """Class decorator that enters a kernel into :data:`KERNELS`."""

    def decorate(cls: type[Kernel]) -> type[Kernel]:
        KERNELS.register((domain, op_type), cls)
        return cls

    return decorate


def load_all() -> KernelTable:
    """Import every kernel module: the whole table, for tests and the index.

    The modules are found on disk (every public module of each family package; ``_``-prefixed ones are
    shared helpers), so a new kernel module needs no list to be entered in: a list kept by hand could
    leave a module out of both this table and the index generated from it without any test noticing.
    """
    import pkgutil  # here: only the full table walks the packages (a load imports its operators' modules)

    for family in FAMILIES:
        package = importlib.import_module(f"{__package__}.{family}")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{info.name}")
    return KERNELS
