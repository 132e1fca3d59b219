"""A registration table whose modules are imported on first use: :class:`LazyTable`.

Some tables are filled by decorators spread over many modules: the CPU kernels (``@kernel``, in
``litert_cpu.kernels``) and the shape-inference rules (``@rule``, in :mod:`litert.schema.inference`).
Importing every such module so that its decorators run cost milliseconds of each process's first
model load (15-19 ms for the kernels, ~2 ms for the rules) while a model needs a handful of them.
A :class:`LazyTable` answers "is there an entry for this key" from a generated index (key -> the
module whose import registers it) and imports that module only the first time the entry itself is
asked for.  The decorators stay the owners of the table: ``tools/gen_kernel_index.py`` regenerates
each index from them, and a test per table fails when an index no longer matches its decorators.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class LazyTable(Mapping[K, V]):
    """The registered entries, plus the indexed ones whose module is not imported yet.

    ``package`` is the package the index's module names are relative to; ``index`` maps each key to
    the module (relative to ``package``) whose import registers it; ``walk`` names the packages
    (relative to ``package``; ``""`` is ``package`` itself) whose modules :meth:`load_all` imports;
    ``what`` names an entry in error messages.  Iteration, ``len`` and membership see the indexed keys
    too, so a caller listing the table sees all of it; reading an entry's value imports its module.
    """

    def __init__(self, package: str, index: Mapping[K, str], walk: Iterable[str] = ("",), what: str = "entry") -> None:
        self.package = package
        self._index = index
        self._walk = tuple(walk)
        self.what = what
        self.loaded: dict[K, V] = {}
        #: the module (relative to ``package`` when inside it) whose import registered each loaded entry:
        #: what the index must say
        self.registered_by: dict[K, str] = {}

    def __getitem__(self, key: K) -> V:
        value = self.loaded.get(key)
        if value is None:
            module = self._index.get(key)
            if module is None:
                raise KeyError(key)
            importlib.import_module(f"{self.package}.{module}")
            value = self.loaded.get(key)
            if value is None:  # the index is stale: its test says how to regenerate it
                raise LookupError(f"{self.what} index: importing {module} registered no {self.what} for {key}")
        else:
            self._await_import(key)
        return value

    def _await_import(self, key: K) -> None:
        """Wait until the module that registered ``key`` has finished importing.

        A decorator registers its entry while its module is still being executed: another thread that
        finds the entry then could use it before the module has defined what the entry needs (a helper
        further down: a NameError on a concurrent first load).  importlib marks a module in the middle of
        its import (``__spec__._initializing``, which its own ``import`` statement checks), and importing
        such a module waits for its import lock, which the importing thread holds until it is done (its
        own thread re-enters the lock and goes on)."""
        name = self.registered_by.get(key, "")
        module = sys.modules.get(f"{self.package}.{name}") or sys.modules.get(name)
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            importlib.import_module(module.__name__)  # type: ignore[union-attr]

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T) -> V | T: ...

    def get(self, key: K, default: object = None) -> object:  # asked once per node (executor, inference, folding)
        value = self.loaded.get(key)
        if value is not None:
            self._await_import(key)
            return value
        return self[key] if key in self._index else default

    def __contains__(self, key: object) -> bool:  # the partitioner asks once per node
        return key in self.loaded or key in self._index

    def __iter__(self) -> Iterator[K]:
        # the keys loaded when iteration starts, then the indexed rest: reading values while iterating
        # (``items()``) imports modules, which must not hide the keys they register from this walk
        loaded = list(self.loaded)
        yield from loaded
        seen = set(loaded)
        yield from (key for key in self._index if key not in seen)

    def __len__(self) -> int:
        return len(self.loaded) + sum(key not in self.loaded for key in self._index)

    def register(self, key: K, value: V) -> None:
        """Enter ``value`` under ``key``; called by a decorator while the module defining it is imported."""
        if key in self.loaded:
            raise ValueError(self.duplicate_message(key))
        self.loaded[key] = value
        self.registered_by[key] = _importing_module(self.package)

    def stale(self) -> dict[K, tuple[str | None, str | None]]:
        """``(what the index says, what the registrations say)`` for each key where they differ: the index's
        test, after :meth:`load_all` (every registration by a module other than the indexed one shows)."""
        keys = set(self._index) | set(self.registered_by)
        return {k: (self._index.get(k), self.registered_by.get(k)) for k in keys
                if self._index.get(k) != self.registered_by.get(k)}

    def duplicate_message(self, key: K) -> str:
        return f"two {self.what}s for {key}"

    def load_all(self) -> LazyTable[K, V]:
        """Import every module of the walked packages: the whole table, for tests and the index.

        The modules are found on disk (every public module of each walked package; ``_``-prefixed ones
        are shared helpers), so a new module needs no list to be entered in: a list kept by hand could
        leave a module out of both this table and the index generated from it without any test noticing.
        """
        import pkgutil  # here: only the full table walks the packages (a load imports its entries' modules)

        for sub in self._walk:
            package = importlib.import_module(f"{self.package}.{sub}" if sub else self.package)
            for info in pkgutil.iter_modules(package.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{package.__name__}.{info.name}")
        return self


def _importing_module(package: str) -> str:
    """The module whose top-level code is running the registration, relative to ``package`` when inside it
    (a factory in a ``_common`` module may build the entry, but the import of the module calling it is
    what registers it).  The walk starts at the caller of :meth:`LazyTable.register` (a decorator, or the
    module itself) and goes up to the first module-level frame, so any depth of helpers between works."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back  # type: ignore[assignment]
    name = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
    prefix = f"{package}."
    return name[len(prefix):] if name.startswith(prefix) else name
