"""Helpers for vendor backends' availability probes: find native libraries."""
from __future__ import annotations

import ctypes.util
import os
from pathlib import Path


def find_library(names: tuple[str, ...], env_dirs: tuple[str, ...] = (), subdirs: tuple[str, ...] = ("lib64", "lib")) -> Path | None:
    """First existing file among ``names`` in the directories named by the
    environment variables ``env_dirs`` (and their ``subdirs``), in
    ``LD_LIBRARY_PATH``, then where the dynamic loader finds it."""
    candidates: list[Path] = []
    for var in env_dirs:
        root = os.environ.get(var)
        if root:
            candidates += [Path(root)] + [Path(root) / s for s in subdirs]
    candidates += [Path(p) for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    for directory in candidates:
        for name in names:
            if (directory / name).is_file():
                return directory / name
    for name in names:
        stem = name.removeprefix("lib").split(".so")[0]
        found = ctypes.util.find_library(stem)
        if found:
            return Path(found)
    return None
