"""A custom operator for litert's CPU backend: ``com.toy::ScaledTanh``, ``y = alpha * tanh(x)``.

An operator ONNX lacks needs a schema (``litert_register_schemas``: the ONNX
reader checks nodes against it) and a kernel (``litert_register_kernels``); the
kernel subclasses the public :class:`litert_cpu.Kernel`.
"""
from __future__ import annotations

import numpy as np

from litert.schema import AttrSpec, OpSchema
from litert_cpu import Kernel, KernelContext

DOMAIN = "com.toy"

SCALED_TANH = OpSchema(DOMAIN, "ScaledTanh", 1, attrs={"alpha": AttrSpec("float", default=1.0)},
                       inputs=[("X", "T")], outputs=[("Y", "T")], min_inputs=1, max_inputs=1,
                       min_outputs=1, max_outputs=1)


class ScaledTanh(Kernel):
    def __init__(self, attrs: dict, ctx: KernelContext):
        super().__init__(attrs, ctx)
        self.alpha = float(attrs["alpha"])  # the schema's default is filled in

    def run(self, x):
        return ((self.alpha * np.tanh(x)).astype(x.dtype, copy=False),)
