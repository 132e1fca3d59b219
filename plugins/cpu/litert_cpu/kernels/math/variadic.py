"""Variadic elementwise operators (Max, Min, Sum, Mean) with broadcasting."""
from __future__ import annotations

import numpy as np

from .._base import Kernel
from .._registry import kernel

VARIADIC_UFUNCS = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add}


def _fold(fn, inputs) -> np.ndarray:
    """Left fold of ``fn`` over the inputs, accumulating in place once a fresh buffer exists."""
    inputs = [x for x in inputs if x is not None]
    if len(inputs) == 1:
        return inputs[0]
    acc = np.asarray(fn(inputs[0], inputs[1]))
    for x in inputs[2:]:
        if np.broadcast_shapes(acc.shape, x.shape) == acc.shape:
            fn(acc, x, out=acc)
        else:
            acc = fn(acc, x)
    return acc


class Variadic(Kernel):
    fn = staticmethod(np.add)

    def run(self, *inputs):
        return (np.asarray(_fold(self.fn, inputs)),)


for _name, _fn in VARIADIC_UFUNCS.items():
    kernel(_name)(type(_name, (Variadic,), {"fn": staticmethod(_fn), "__doc__": f"ONNX {_name}."}))


@kernel("Mean")
class Mean(Kernel):
    def run(self, *inputs):
        inputs = [x for x in inputs if x is not None]
        acc = _fold(np.add, inputs)
        if len(inputs) == 1:
            return (acc,)
        acc /= len(inputs)
        return (np.asarray(acc),)
