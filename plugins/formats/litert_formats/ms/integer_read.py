"""MindSpore Lite's quantised nodes -> the IR's QDQ form (what :mod:`litert.passes.qdq` folds into integer
kernels).

- A full-quantisation node (CNode ``quantType`` QUANT_ALL: Conv2DFusion, MatMulFusion... on int8
  tensors carrying a ``QuantParam``) is read as its float operator between ``DequantizeLinear`` of its
  int8 activation inputs and ``QuantizeLinear`` to its int8 outputs; its integer constants (int8
  weights, int32 bias) are read through ``DequantizeLinear`` too, so they stay integer in memory.
- ``QuantDTypeCast`` (float32 <-> int8/uint8) is ``QuantizeLinear`` / ``DequantizeLinear`` with the
  int8 tensor's parameters.
- ``DynamicQuant`` (dynamic quantisation: the activation of a QUANT_DYNAMIC MatMul quantised at run time,
  per tensor, asymmetric) is ``DynamicQuantizeLinear`` then ``DequantizeLinear``: the same 256-step grid
  over the tensor's range widened to 0; the MatMul reads its int8 weight dequantised.
"""
from __future__ import annotations

import numpy as np

from litert.ir import DType, QuantParams

from .msfile import MsNode
from .types import TYPE_IDS

#: primitives that convert between float and integer themselves (read the same whatever their quantType)
CASTS = ("QuantDTypeCast", "DynamicQuant")


def plain_params(params: list[dict]) -> bool:
    """Parameters that are ``scale * (q - zero_point)`` alone (no bias-correction factors)."""
    return all(p.get("varCorr", 1.0) == 1.0 and p.get("meanCorr", 0.0) == 0.0 for p in params)


def _params_consts(b, name: str, quant: QuantParams, zero_dtype) -> tuple[str, str]:
    per_channel = quant.axis is not None and np.size(quant.scale) > 1
    scale = np.asarray(quant.scale, np.float32)
    zero = np.asarray(quant.zero_point).astype(zero_dtype)
    if not per_channel:
        scale, zero = scale.reshape(()), zero.reshape(())
    return b.const(scale, f"{name}_scale"), b.const(zero, f"{name}_zero_point")


def _is_int8_activation(b, index: int) -> bool:
    t = b.ms.tensors[index]
    return not t.is_const and t.quant is not None and t.dtype in (DType.INT8, DType.UINT8)


def read_integer_node(b, node: MsNode) -> None:
    """Read a QUANT_ALL node as ``DequantizeLinear -> float operator -> QuantizeLinear``."""
    from .read_ops import read_node

    after: list[tuple[str, int]] = []
    for index in dict.fromkeys(node.inputs):
        if _is_int8_activation(b, index):
            name = b.names[index]
            t = b.ms.tensors[index]
            scale, zero = _params_consts(b, name, t.quant, t.dtype.numpy)
            dequantized = b.fresh(f"{name}_dequantized")
            b.graph.value(dequantized).dtype = DType.FLOAT32
            b.emit("DequantizeLinear", [name, scale, zero], [dequantized], node)
            b.renamed[index] = dequantized
    for index in dict.fromkeys(node.outputs):
        if _is_int8_activation(b, index):
            name = b.names[index]
            inner = b.fresh(f"{name}_float")
            b.graph.value(inner).dtype = DType.FLOAT32
            b.renamed[index] = inner
            after.append((inner, index))
    first = len(b.graph.nodes)
    try:
        if not _as_gemm(b, node):
            read_node(b, node)
        for fn in b.after:
            fn()
    finally:
        b.after.clear()
        b.renamed.clear()
    _dequantize_constants(b, node, first)
    for inner, index in after:
        t = b.ms.tensors[index]
        name = b.names[index]
        scale, zero = _params_consts(b, name, t.quant, t.dtype.numpy)
        b.emit("QuantizeLinear", [inner, scale, zero], [name], node)


def _as_gemm(b, node: MsNode) -> bool:
    """An integer MatMulFusion of a 2-D activation and a 2-D weight, read as one Gemm (bias included): the form
    QDQ folding turns into an integer QGemm (MatMul + Add would stay float)."""
    from .read_ops import with_activation

    a = node.attrs
    weight = b.const_value(node, 1)
    if node.primitive != "MatMulFusion" or a.get("transpose_a") or weight is None or weight.ndim != 2:
        return False
    x = b.inp(node, 0)
    if b.rank(x, node) != 2:
        return False
    inputs = [x, b.inp(node, 1)] + ([b.inp(node, 2)] if b.has_input(node, 2) else [])
    out = with_activation(b, node, a.get("activation_type", 0))
    b.emit("Gemm", inputs, [out], node, transB=int(bool(a.get("transpose_b"))))
    return True


def _dequantize_constants(b, node: MsNode, first: int) -> None:
    """The nodes just read take their integer constants with QuantParams through DequantizeLinear."""
    made: dict[str, str] = {}
    for ir_node in b.graph.nodes[first:]:
        if ir_node.op_type in ("DequantizeLinear", "QuantizeLinear"):
            continue
        for k, name in enumerate(ir_node.inputs):
            value = b.graph.values.get(name) if name else None
            if value is None or value.const is None or value.quant is None or value.const.dtype.kind not in "iu":
                continue
            if name not in made:
                scale, zero = _params_consts(b, name, value.quant, value.const.dtype)
                out = b.fresh(f"{name}_dequantized")
                b.graph.value(out).dtype = DType.FLOAT32
                attrs = {"axis": int(value.quant.axis)} if value.quant.axis is not None and np.size(value.quant.scale) > 1 else {}
                made[name] = out
                dq = b.node("DequantizeLinear", [name, scale, zero], [out], node, **attrs)
                b.graph.nodes.insert(first, dq)
                first += 1
            ir_node.inputs[k] = made[name]


def quant_dtype_cast(b, node: MsNode) -> None:
    """float32 -> int8: QuantizeLinear with the output's parameters; int8 -> float32: DequantizeLinear with
    the input's; any other pair of types: a Cast."""
    src, dst = TYPE_IDS.get(int(node.attrs.get("src_t", 0))), TYPE_IDS.get(int(node.attrs.get("dst_t", 0)))
    x, out = b.inp(node, 0), b.out(node, 0)
    quantized = node.outputs[0] if dst in (DType.INT8, DType.UINT8) and src == DType.FLOAT32 else \
        node.inputs[0] if src in (DType.INT8, DType.UINT8) and dst == DType.FLOAT32 else None
    if quantized is None:
        if dst is None:
            raise b.unsupported(node, f"dst_t {node.attrs.get('dst_t')}")
        b.emit("Cast", [x], [out], node, to=dst.value)
        return
    t = b.ms.tensors[quantized]
    if t.quant is None:
        raise b.unsupported(node, f"a cast to or from tensor {t.name!r}, which has no quantisation parameters")
    if t.quant.axis is not None and np.size(t.quant.scale) > 1:
        raise b.unsupported(node, f"per-channel parameters on activation {t.name!r}")
    scale, zero = _params_consts(b, b.names[quantized], t.quant, t.dtype.numpy)
    b.emit("QuantizeLinear" if quantized == node.outputs[0] else "DequantizeLinear", [x, scale, zero], [out], node)


def dynamic_quant(b, node: MsNode) -> None:
    """DynamicQuant -> DynamicQuantizeLinear + DequantizeLinear: the float tensor on its run-time int8 grid."""
    a = node.attrs
    if a.get("symmetric") or a.get("activation_channel"):
        raise b.unsupported(node, "symmetric or per-channel dynamic quantisation")
    out = b.out(node, 0)
    b.graph.value(out).dtype = DType.FLOAT32  # stored int8: read as the float values it stands for
    q, scale, zero = b.emit("DynamicQuantizeLinear", [b.inp(node, 0)], [b.fresh(f"{out}_{k}") for k in
                                                                       ("quantized", "scale", "zero_point")], node)
    b.emit("DequantizeLinear", [q, scale, zero], [out], node)


__all__ = ["CASTS", "read_integer_node", "quant_dtype_cast", "dynamic_quant", "plain_params"]
