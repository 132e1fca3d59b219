"""Schemas of the fused operators litert's passes emit.

They carry onnxruntime's contrib names and attributes (domain
``com.microsoft``), so an optimised model written as ONNX still runs there.
"""
from __future__ import annotations

from ..activations import ACTIVATION_ATTR, FUSED_CONV_ATTRS
from .registry import AttrSpec, SchemaRegistry

CONTRIB = "com.microsoft"


def register_contrib(registry: SchemaRegistry) -> None:
    conv = registry.latest("", "Conv")
    registry.register(conv.replace(
        domain=CONTRIB, op_type="FusedConv", since=1,
        attrs={**conv.attrs, **FUSED_CONV_ATTRS},
        max_inputs=4,
    ))
    gemm = registry.latest("", "Gemm")
    registry.register(gemm.replace(
        domain=CONTRIB, op_type="FusedGemm", since=1,
        attrs={**gemm.attrs, **ACTIVATION_ATTR, "activation_alpha": AttrSpec("float", default=0.01),
               "activation_beta": AttrSpec("float", default=1.0), "activation_gamma": AttrSpec("float", default=0.0)},
    ))
    matmul = registry.latest("", "MatMul")
    registry.register(matmul.replace(
        domain=CONTRIB, op_type="FusedMatMul", since=1,
        attrs={"alpha": AttrSpec("float", default=1.0), "transA": AttrSpec("int", default=0),
               "transB": AttrSpec("int", default=0), "transBatchA": AttrSpec("int", default=0),
               "transBatchB": AttrSpec("int", default=0)},
    ))
