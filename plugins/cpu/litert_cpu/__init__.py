"""litert's CPU backend: numpy kernels, and a compiled kernel library for the hot operators.

:class:`Kernel` and :class:`KernelContext` are the contract of a CPU kernel; a plugin
registers its own for a custom operator through ``litert_register_kernels``
(see docs/plugin-contract.md).  They are imported on first use: importing the
package (as the plugin entry point does) loads no kernel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kernels._base import Kernel, KernelContext

__all__ = ["Kernel", "KernelContext"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from .kernels import _base

        return getattr(_base, name)
    raise AttributeError(f"module 'litert_cpu' has no attribute {name!r}")
