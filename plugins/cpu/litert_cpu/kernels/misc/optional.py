"""Optional values: ``None`` is the empty optional, anything else (an array
or a sequence list) is the held value."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel


@kernel("Optional")
class Optional(Kernel):
    def run(self, value=None):
        return (value,)


@kernel("OptionalHasElement")
class OptionalHasElement(Kernel):
    def run(self, value=None):
        return (np.array(value is not None),)


@kernel("OptionalGetElement")
class OptionalGetElement(Kernel):
    def run(self, value):
        if value is None:
            raise ValueError("OptionalGetElement of an empty optional")
        return (value,)
