"""Argument parsing shared by several commands."""
from __future__ import annotations

from litert.errors import InputError


def parse_input_shapes(text: str | None) -> dict[str, tuple[int, ...]]:
    """``"data:1,3,224,224;mask:1,128"`` -> ``{"data": (1, 3, 224, 224), "mask": (1, 128)}``."""
    shapes: dict[str, tuple[int, ...]] = {}
    if not text:
        return shapes
    for item in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, dims = item.rpartition(":")
        if not sep or not name:
            raise InputError(f"--input-shape: expected name:d0,d1,... got {item!r}")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(",") if d.strip())
        except ValueError:
            raise InputError(f"--input-shape: dimensions of {name!r} must be integers, got {dims!r}") from None
    return shapes
