"""The entry points of installed distributions, found the way ``importlib.metadata`` finds them.

``importlib.metadata.entry_points()`` was a third of a fresh process's first ``litert.load`` of a small
model: importing it brings ``email``, ``zipfile``, ``csv``, ``socket``, ``calendar`` and more (~10 ms of
CPU on a 2-vCPU Zen 4), and its scan builds a ``Distribution`` and an ``EntryPoint`` for every entry point
of every installed package (~4 ms), for the handful litert wants.  Plugin discovery only needs the
``[litert.*]`` sections of each distribution's ``entry_points.txt``, so :func:`entry_points` lists the
``*.dist-info`` and ``*.egg-info`` folders of ``sys.path`` itself on every call (no cache: a plugin
installed or removed is seen by the next discovery) and parses only the files holding a wanted section,
in the order and with the first-wins de-duplication of ``importlib.metadata``.

Layouts it does not read itself (a zip or ``.egg`` on ``sys.path``, a meta-path finder with its own
``find_distributions``) make it ask ``importlib.metadata``; ``tests/test_plugin_api.py`` checks that both
give the same entry points in the same order.
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from functools import reduce
from typing import Any, NamedTuple, Protocol

_METADATA_SUFFIXES = (".dist-info", ".egg-info")


class Distribution(Protocol):
    """What discovery reads of a distribution (``importlib.metadata.Distribution`` has it too)."""

    def read_text(self, filename: str) -> str | None: ...


class EntryPointLike(Protocol):
    """An entry point as discovery uses it: ours (:class:`EntryPoint`) or ``importlib.metadata``'s."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def dist(self) -> Distribution | None: ...

    def load(self) -> Any: ...


class MetadataDir:
    """One distribution's metadata folder (``name-version.dist-info`` or ``.egg-info``)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read_text(self, filename: str) -> str | None:
        """The file's text, or None when it is absent or unreadable (``Distribution.read_text``)."""
        try:
            with open(os.path.join(self.path, filename), encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError):
            return None

    def __repr__(self) -> str:
        return f"MetadataDir({self.path!r})"


class EntryPoint(NamedTuple):
    """``name = module:attr`` of ``group`` in ``dist``'s ``entry_points.txt`` (a NamedTuple: immutable, and
    cheaper to define than a frozen dataclass)."""

    name: str
    value: str
    group: str
    dist: MetadataDir | None = None

    def load(self) -> Any:
        """Import the module and return the attribute named (``importlib.metadata.EntryPoint.load``: the value
        is ``module[:attr.attr] [extras]``; read without a regular expression, whose compilation was a
        noticeable part of discovery)."""
        target, bracket, extras = self.value.partition("[")
        module, colon, attrs = (part.strip() for part in target.partition(":"))
        dotted = [module] + ([attrs] if colon else [])
        if (bracket and not extras.rstrip().endswith("]")) or not all(
                all(word.isidentifier() for word in name.split(".")) for name in dotted):
            raise ValueError(f"entry point {self.name!r} of {self.group!r}: {self.value!r} is not module[:attr]")
        return reduce(getattr, attrs.split(".") if colon else (), importlib.import_module(module))


def _normalize(name: str) -> str:
    """``importlib.metadata.Prepared.normalize`` (runs of ``-_.`` become one ``_``, lower case): the name
    distributions are de-duplicated by."""
    name = name.lower().replace("-", "_").replace(".", "_")
    while "__" in name:
        name = name.replace("__", "_")
    return name


def _own_layout() -> bool:
    """Whether every distribution ``importlib.metadata`` would find is a metadata folder in a ``sys.path``
    directory: its only distribution finder is the standard path finder, and every entry is a ``str`` naming
    neither a file (a zip) nor an ``.egg`` folder."""
    from importlib.machinery import PathFinder

    if any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path):
        return False
    return all(isinstance(entry, str) and not entry.lower().endswith(".egg") and not os.path.isfile(entry)
               for entry in sys.path)


def _metadata_dirs() -> Iterable[tuple[str, str]]:
    """(normalised name, folder) of each distribution on ``sys.path``, in ``importlib.metadata``'s order:
    path entries in turn, in a folder its listing's order grouped by name."""
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:  # absent, not a folder, unreadable: importlib.metadata skips it too
            continue
        by_name: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith(_METADATA_SUFFIXES):
                by_name.setdefault(_normalize(low.rpartition(".")[0].partition("-")[0]), []).append(child)
        for name, folders in by_name.items():
            for folder in folders:
                yield name, os.path.join(root, folder)


def _parse(text: str, groups: frozenset[str], dist: MetadataDir) -> Iterable[EntryPoint]:
    """The entry points of ``groups`` in one ``entry_points.txt`` (``importlib.metadata.Sectioned``: stripped
    lines, ``#`` comments, ``[group]`` headers, ``name = value``)."""
    group = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
        elif group in groups:
            name, sep, value = line.partition("=")
            if sep:
                yield EntryPoint(name.strip(), value.strip(), group, dist)


def entry_points(groups: Iterable[str]) -> dict[str, list[EntryPointLike]]:
    """Each of ``groups``' entry points over the installed distributions, in ``importlib.metadata``'s order
    (the first distribution of a name on ``sys.path`` only)."""
    wanted = frozenset(groups)
    found: dict[str, list[EntryPointLike]] = {group: [] for group in wanted}
    if not _own_layout():
        import importlib.metadata as md

        installed = md.entry_points()  # all groups: ``select`` of it scans no more (Python 3.10-3.13)
        return {group: list(installed.select(group=group)) for group in wanted}
    seen: set[str] = set()
    for name, path in _metadata_dirs():
        if name in seen:
            continue
        seen.add(name)
        dist = MetadataDir(path)
        text = dist.read_text("entry_points.txt")
        if text and any(f"[{group}]" in text for group in wanted):
            for point in _parse(text, wanted, dist):
                found[point.group].append(point)
    return found
