"""Argument parsing shared by several commands."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from litert.errors import InputError

if TYPE_CHECKING:
    from litert.runtime.session import Session


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision``: the arithmetic of :func:`litert.load` (:mod:`litert.precision`)."""
    from litert.precision import PRECISIONS

    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="fp32",
                        help="; ".join(f"{name}: {what}" for name, what in PRECISIONS.items())
                        + " (default fp32; the precision used is printed)")


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


def split_devices(text: str | None) -> tuple[list[str] | None, bool]:
    """``--device ascend,cpu`` -> (backend order, whether falling back to the CPU is allowed).

    The CPU fallback is allowed when no device is named or ``cpu`` is in the list: ``--device ascend``
    on a machine without Ascend is an error, ``--device ascend,cpu`` runs on the CPU and says so."""
    if not text:
        return None, True
    devices = [d.strip() for d in text.split(",") if d.strip()]
    return devices, "cpu" in devices


def load_for_devices(load: Callable[..., Session], model: str, device_text: str | None, **options: Any) -> Session:
    """``load(model, devices=..., cpu_fallback=...)`` for ``--device``; an absent device names the way to allow
    the fallback."""
    from litert.errors import BackendUnavailableError

    devices, fallback = split_devices(device_text)
    try:
        return load(model, devices=devices, cpu_fallback=fallback, **options)
    except BackendUnavailableError as err:
        raise BackendUnavailableError(f"{err} (to run on the CPU instead, allow the fallback: "
                                      f"--device {','.join(devices or [])},cpu)") from None
