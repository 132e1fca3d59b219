"""Resource limits: how much memory litert allocates on a model file's say-so.

A model file of a few hundred bytes can declare a tensor of 10^12 elements,
a Tile to a terabyte or dims whose product overflows int64.  Every size the
engine computes from a file goes through :func:`numel` (exact integer
arithmetic, no wrap-around) and every allocation it plans through
:func:`check_bytes`, which refuses sizes above the limit with a
:class:`~litert.errors.ResourceLimitError` naming what asked for it.

The limit is half the physical memory by default; set
``LITERT_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G``/``T`` suffix)
to change it, or call :func:`set_memory_limit`.  Constant folding has its
own, smaller limit (:func:`fold_limit`, ``LITERT_FOLD_LIMIT``, 256 MiB).

Time: ``Session.predict(..., timeout=)`` sets a deadline for the run
(:func:`time_limit`); kernels that may loop for as long as a file says
(Loop) call :func:`check_deadline`.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from contextvars import ContextVar, Token

from .errors import ResourceLimitError

_SUFFIX = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_override: int | None = None


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _parse(text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _SUFFIX else ""
    return int(float(text[: len(text) - len(unit)]) * _SUFFIX[unit])


def memory_limit() -> int:
    """The largest single allocation (or planned arena) litert accepts, in bytes."""
    if _override is not None:
        return _override
    env = os.environ.get("LITERT_MEMORY_LIMIT")
    if env:
        try:
            return _parse(env)
        except (ValueError, IndexError):
            raise ResourceLimitError(f"LITERT_MEMORY_LIMIT={env!r} is not a size (e.g. 4G)") from None
    return _physical_memory() // 2


def set_memory_limit(nbytes: int | None) -> None:
    """Set the limit for this process (None: back to the default)."""
    global _override
    _override = None if nbytes is None else int(nbytes)


#: the default of :func:`fold_limit`: constant folding makes no constant larger than this
DEFAULT_FOLD_LIMIT = 256 * 2**20


def fold_limit() -> int:
    """The largest constant (bytes) constant folding may make; ``LITERT_FOLD_LIMIT`` (e.g. ``1G``) raises it.

    Larger results stay nodes computed at run time, which a format writer may not be able to express
    (a 1 GiB ConstantOfShape in a .ms file): the error then names this limit."""
    env = os.environ.get("LITERT_FOLD_LIMIT")
    if not env:
        return DEFAULT_FOLD_LIMIT
    try:
        return _parse(env)
    except (ValueError, IndexError):
        raise ResourceLimitError(f"LITERT_FOLD_LIMIT={env!r} is not a size (e.g. 1G)") from None


def human_bytes(n: int) -> str:
    """``268435456`` -> ``256.0 MiB``."""
    return _human(n)


def numel(shape: Iterable[int]) -> int:
    """Element count of ``shape`` in exact integer arithmetic (never wraps)."""
    return math.prod(int(d) for d in shape)


def check_bytes(nbytes: int, what: str) -> int:
    """``nbytes`` if it is within the memory limit; a :class:`ResourceLimitError` naming ``what`` otherwise."""
    limit = memory_limit()
    if nbytes > limit:
        raise ResourceLimitError(
            f"{what} needs {_human(nbytes)}, over the memory limit of {_human(limit)} (LITERT_MEMORY_LIMIT)"
        )
    return nbytes


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


# ---------------------------------------------------------------- time

#: the monotonic time a run must end by (``predict(timeout=)``), for the thread running it
_DEADLINE: ContextVar[float | None] = ContextVar("litert_deadline", default=None)


class time_limit:  # noqa: N801 - used as a function: ``with time_limit(seconds):``
    """Within the block, :func:`check_deadline` raises once ``seconds`` have passed (None: no limit).

    A class rather than a generator context manager: every predict enters one."""

    __slots__ = ("_seconds", "_token")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._token: Token[float | None] | None = None

    def __enter__(self) -> None:
        if self._seconds is None:
            return
        if self._seconds <= 0:
            raise ValueError(f"timeout must be positive, got {self._seconds}")
        self._token = _DEADLINE.set(time.monotonic() + self._seconds)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _DEADLINE.reset(self._token)


def check_deadline(what: str) -> None:
    """Raise :class:`ResourceLimitError` naming ``what`` when the current run is past its deadline.

    Long-running kernels (Loop) call this once per iteration; a run without a
    timeout pays one context-variable read."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise ResourceLimitError(f"{what}: the run exceeded its timeout")


def check_shape(shape: Iterable[int], itemsize: int, what: str) -> tuple[int, ...]:
    """``shape`` as ints when a tensor of it (``itemsize`` bytes per element) fits the memory limit."""
    dims = tuple(int(d) for d in shape)
    check_bytes(numel(dims) * max(itemsize, 1), f"{what} of shape {list(dims)}")
    return dims
