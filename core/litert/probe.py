"""Helpers for vendor backends' availability probes: find native libraries.

Probes run on every default ``litert.load`` (every backend is asked whether
it is available), so finding a library must be cheap: no subprocess (the
standard ``ctypes.util.find_library`` runs ``ldconfig``, ``gcc`` and ``ld``),
a few ``stat`` calls, and the dynamic loader's cache read once per process.
Results are cached per process for the same environment.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

LD_CACHE = Path("/etc/ld.so.cache")


def _multiarch() -> str:
    """The Debian multiarch triplet (``x86_64-linux-gnu``): CPython keeps it on ``sys.implementation``;
    ``sysconfig`` (its build-time table imported for one value, a millisecond of every load) otherwise."""
    arch = getattr(sys.implementation, "_multiarch", None)
    if arch is None:
        import sysconfig

        arch = sysconfig.get_config_var("MULTIARCH")
    return str(arch or "")


def _standard_dirs() -> tuple[str, ...]:
    arch = _multiarch()
    roots = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")
    return tuple([os.path.join(r, arch) for r in roots if arch] + list(roots))


@lru_cache(maxsize=1)
def _ld_cache() -> bytes:
    """The dynamic loader's cache (paths of every library ``ldconfig`` indexed), read once."""
    try:
        return LD_CACHE.read_bytes()
    except OSError:
        return b""


def _in_ld_cache(name: str) -> Path | None:
    """A path the loader cache lists for ``name`` (or a versioned ``name.N``) that exists."""
    cache, needle = _ld_cache(), b"/" + name.encode()
    start = cache.find(needle)
    while start >= 0:
        begin = cache.rfind(b"\x00", 0, start) + 1
        end = cache.find(b"\x00", start)
        entry = cache[begin:end if end >= 0 else len(cache)]
        tail = entry[entry.rfind(b"/") + 1 :]
        if tail == needle[1:] or (tail.startswith(needle[1:] + b".") and tail[len(needle):][:1].isdigit()):
            path = Path(entry.decode(errors="replace"))
            if path.is_absolute() and path.is_file():
                return path
        start = cache.find(needle, start + 1)
    return None


def _first_file(directories: list[str] | tuple[str, ...], names: tuple[str, ...]) -> Path | None:
    """The first ``directory/name`` that is a file (``os.path`` on strings: a probe checks some forty
    candidates, and a ``Path`` object each made that a noticeable part of a first load)."""
    for directory in directories:
        for name in names:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return Path(candidate)
    return None


@lru_cache(maxsize=64)
def _find(names: tuple[str, ...], env_roots: tuple[str, ...], subdirs: tuple[str, ...], ld_path: str) -> Path | None:
    candidates: list[str] = []
    for root in env_roots:
        candidates += [root] + [os.path.join(root, s) for s in subdirs]
    candidates += [p for p in ld_path.split(os.pathsep) if p]
    found = _first_file(candidates, names)
    for name in names:
        found = found or _in_ld_cache(name)
    return found or _first_file(_standard_dirs(), names)


def find_library(names: tuple[str, ...], env_dirs: tuple[str, ...] = (), subdirs: tuple[str, ...] = ("lib64", "lib")) -> Path | None:
    """First existing file among ``names`` in the directories named by the
    environment variables ``env_dirs`` (and their ``subdirs``), in
    ``LD_LIBRARY_PATH``, in the dynamic loader's cache, then in the standard
    library directories.  Cached per process for the same environment."""
    env_roots = tuple(os.environ[v] for v in env_dirs if os.environ.get(v))
    return _find(tuple(names), env_roots, tuple(subdirs), os.environ.get("LD_LIBRARY_PATH", ""))
