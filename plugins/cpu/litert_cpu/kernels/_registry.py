"""The explicit table of CPU kernels: ``(domain, op_type) -> Kernel class``."""
from __future__ import annotations

from collections.abc import Callable

from ._base import Kernel

KERNELS: dict[tuple[str, str], type[Kernel]] = {}


def kernel(op_type: str, domain: str = "") -> Callable[[type[Kernel]], type[Kernel]]:
    """Class decorator that enters a kernel into :data:`KERNELS`."""

    def decorate(cls: type[Kernel]) -> type[Kernel]:
        key = (domain, op_type)
        if key in KERNELS:
            raise ValueError(f"two CPU kernels for {domain or 'ai.onnx'}::{op_type}")
        KERNELS[key] = cls
        return cls

    return decorate
