"""``Record``: the ``repr`` and ``replace`` a dataclass would give, for classes written out by hand.

The IR and the tables every model load builds are plain classes rather than
:func:`dataclasses.dataclass`: a dataclass compiles its methods from source text when its module is
imported, 0.25-0.6 ms a class on Python 3.11, and twenty of them were ~6 ms of each process's first
``litert.load`` (``tests/reliability/test_load_cost.py`` keeps ``dataclasses`` out of a first load).
A subclass lists its fields in ``FIELDS``, in its constructor's order.
"""
from __future__ import annotations

from typing import Any, TypeVar

_R = TypeVar("_R", bound="Record")


class Record:
    """``repr`` and ``replace`` from the class's ``FIELDS``; equality stays identity."""

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self.FIELDS)})"

    def replace(self: _R, **changes: Any) -> _R:
        """A copy with ``changes`` applied, as :func:`dataclasses.replace` makes one (TypeError for a name that
        is not a field)."""
        return type(self)(**{f: changes.pop(f) if f in changes else getattr(self, f) for f in self.FIELDS},
                          **changes)
