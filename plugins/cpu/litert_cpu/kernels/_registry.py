"""The table of CPU kernels: ``(domain, op_type) -> Kernel class``, each module imported on first use.

The ``@kernel`` decorators in the kernel modules are the owners of the table.  Importing all of
those modules took 15-19 ms of a process's first load while a model needs a handful of them, so
:data:`KERNELS` is a :class:`litert.lazy_table.LazyTable`: it answers "is there a kernel for this
operator" from :data:`._index.INDEX` (operator -> the module whose import registers it) and imports
that module the first time the kernel class is asked for.  ``_index.py`` is generated from the
decorators (``python tools/gen_kernel_index.py``); ``tests/test_table_indexes.py`` fails
when it no longer matches them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from litert.lazy_table import LazyTable

from ._base import Kernel
from ._index import INDEX

#: the packages whose public modules hold the kernels (:func:`load_all` imports them all)
FAMILIES = ("math", "misc", "nn", "tensor")


class KernelTable(LazyTable[tuple[str, str], type[Kernel]]):
    """The registered kernel classes, plus the indexed ones whose module is not imported yet."""

    def __init__(self, index: Mapping[tuple[str, str], str]) -> None:
        super().__init__(__package__, index, walk=FAMILIES, what="kernel")

    def duplicate_message(self, key: tuple[str, str]) -> str:
        return f"two CPU kernels for {key[0] or 'ai.onnx'}::{key[1]}"


KERNELS = KernelTable(INDEX)


def kernel(op_type: str, domain: str = "") -> Callable[[type[Kernel]], type[Kernel]]:
    """Class decorator that enters a kernel into :data:`KERNELS`."""

    def decorate(cls: type[Kernel]) -> type[Kernel]:
        KERNELS.register((domain, op_type), cls)
        return cls

    return decorate


def load_all() -> KernelTable:
    """Import every kernel module (each public module of the :data:`FAMILIES` packages): the whole table,
    for tests and the index."""
    KERNELS.load_all()
    return KERNELS
