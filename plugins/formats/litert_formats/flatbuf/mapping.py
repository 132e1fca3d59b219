"""Memory-map a model file for reading, with a clear error for what cannot be read."""
from __future__ import annotations

import mmap
from pathlib import Path

from litert.errors import ModelLoadError


def map_file(path: Path) -> mmap.mmap:
    """A read-only mapping of ``path``; :class:`ModelLoadError` for a missing, empty or unreadable file."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        with open(path, "rb") as f:
            if path.stat().st_size == 0:
                raise ModelLoadError(f"{path}: empty file")
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise ModelLoadError(f"{path}: cannot read ({err.strerror or err})") from None
