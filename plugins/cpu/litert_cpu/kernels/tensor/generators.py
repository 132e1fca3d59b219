"""Operators that make tensors: Constant, ConstantOfShape, EyeLike, Range."""
from __future__ import annotations

import numpy as np

from litert.limits import check_shape

from .._base import Kernel
from .._registry import kernel
from ._common import int_list, onnx_dtype

# Constant's typed attribute forms -> numpy dtype of the resulting tensor.
CONSTANT_FORMS = {
    "value_float": np.float32,
    "value_floats": np.float32,
    "value_int": np.int64,
    "value_ints": np.int64,
    "value_string": object,
    "value_strings": object,
}


@kernel("Constant")
class Constant(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        for name in ("value", "sparse_value"):
            if attrs.get(name) is not None:
                self.value = dense(attrs[name])
                break
        else:
            for name, dtype in CONSTANT_FORMS.items():
                if attrs.get(name) is not None:
                    self.value = np.array(attrs[name], dtype=dtype)
                    break
            else:
                raise ValueError("Constant node has no value attribute")

    def run(self):
        return (self.value,)


def dense(value):
    """A TENSOR attribute as ndarray; sparse tensors (objects with values/indices/dims) densified."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "values") and hasattr(value, "indices") and hasattr(value, "dims"):
        values = np.asarray(value.values)
        out = np.zeros(tuple(value.dims), dtype=values.dtype)
        idx = np.asarray(value.indices, dtype=np.int64)
        if idx.ndim == 2:
            out[tuple(idx.T)] = values
        else:
            out.reshape(-1)[idx] = values
        return out
    return np.asarray(value)


@kernel("ConstantOfShape")
class ConstantOfShape(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        value = attrs.get("value")
        self.value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)[:1]

    def run(self, shape):
        dims = check_shape(int_list(shape), self.value.dtype.itemsize, "ConstantOfShape output")
        return (np.full(dims, self.value[0], dtype=self.value.dtype),)


@kernel("EyeLike")
class EyeLike(Kernel):
    def run(self, x):
        dtype = onnx_dtype(self.attrs.get("dtype"), x.dtype)
        n, m = x.shape
        return (np.eye(n, m, k=self.attrs.get("k", 0), dtype=dtype),)


@kernel("Range")
class Range(Kernel):
    """``start + i * delta`` for ``i < ceil((limit - start) / delta)``.

    The count uses ``limit - start`` in the input type, divided in double
    precision (as onnxruntime); float values are computed in float64 and cast.
    """

    def run(self, start, limit, delta):
        dtype = start.dtype
        span = (np.asarray(limit) - np.asarray(start)).astype(dtype).item()
        n = max(int(np.ceil(span / float(delta.item()))), 0)
        check_shape([n], max(dtype.itemsize, 8), "Range output")
        if not np.issubdtype(dtype, np.integer):  # float, float16, bfloat16
            out = float(start.item()) + np.arange(n, dtype=np.float64) * float(delta.item())
            return (out.astype(dtype),)
        s, d = int(start.item()), int(delta.item())
        return (np.arange(s, s + n * d, d, dtype=dtype)[:n],)
