"""Atomic file writing: the one way litert writes a file.

A write that fails midway (disk full, a size limit, an exception while
serialising) must leave the previous file intact, never a truncated one.
So every file goes to a temporary file in the same folder (same file
system, so the rename is atomic), is flushed and synced, and is renamed
over the target only when complete; on any failure the temporary file is
removed and the target is untouched.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path`` for writing; it replaces ``path`` when the block ends without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _keep_mode(path, temp)
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _keep_mode(path: Path, temp: str) -> None:
    """Give the new file the old one's permissions, or the umask's default (mkstemp makes 0600)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temp, mode)


def write_bytes(path: str | Path, data: bytes) -> None:
    """``Path.write_bytes``, atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """``Path.write_text``, atomically."""
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)
