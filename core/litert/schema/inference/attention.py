"""Attention operators: Attention (with KV cache), LinearAttention,
FlexAttention.  RotaryEmbedding and SwiGLU keep their input's shape."""
from __future__ import annotations

from ...ir import Dim, Graph, Node, Shape, Value
from ._base import Info, Inputs, arg, dtype_of, rule


def _div(a: Dim, b: Dim) -> Dim:
    return a // b if isinstance(a, int) and isinstance(b, int) and b else None


def _mul(a: Dim, b: Dim) -> Dim:
    return a * b if isinstance(a, int) and isinstance(b, int) else None


def _add(a: Dim, b: Dim) -> Dim:
    return a + b if isinstance(a, int) and isinstance(b, int) else None


def _heads(v: Value | None, heads_attr: Dim) -> tuple[Dim, ...] | None:
    """(batch, heads, sequence, head size) of a 4-D or packed 3-D operand."""
    if v is None or v.shape is None:
        return None
    if len(v.shape) == 4:
        return tuple(v.shape)
    if len(v.shape) == 3:
        b, s, hidden = v.shape
        return (b, heads_attr, s, _div(hidden, heads_attr))
    return None


@rule("Attention")
def _attention(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    q, k, v = inputs[0], inputs[1], inputs[2]
    q_heads, kv_heads = node.attrs.get("q_num_heads"), node.attrs.get("kv_num_heads")
    qs, ks, vs = _heads(q, q_heads), _heads(k, kv_heads), _heads(v, kv_heads)
    past_key = arg(inputs, 4)
    past: Dim
    if past_key is None:
        past = 0
    else:
        past = past_key.shape[2] if past_key.shape is not None else None
    batch = qs[0] if qs else None
    total = _add(past, ks[2]) if ks else None
    v_size = vs[3] if vs else None
    y: Shape | None
    if q.shape is not None and len(q.shape) == 3:
        y = (q.shape[0], q.shape[1], _mul(q_heads, v_size))
    elif qs:
        y = (qs[0], qs[1], qs[2], v_size)
    else:
        y = None
    present_key = (batch, ks[1], total, ks[3]) if ks else None
    present_value = (batch, vs[1], total, v_size) if ks and vs else None
    qk = (batch, qs[1], qs[2], total) if qs else None
    infos = [(q.dtype, y), (q.dtype, present_key), (v.dtype, present_value), (q.dtype, qk)]
    return infos[: len(node.outputs)]


@rule("LinearAttention")
def _linear_attention(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    q, k, v = inputs[0], inputs[1], inputs[2]
    q_heads, kv_heads = node.attrs.get("q_num_heads"), node.attrs.get("kv_num_heads")
    d_k = _div(k.shape[2], kv_heads) if k.shape is not None and len(k.shape) == 3 else None
    d_v = _div(v.shape[2], kv_heads) if v.shape is not None and len(v.shape) == 3 else None
    y = (q.shape[0], q.shape[1], _mul(q_heads, d_v)) if q.shape is not None and len(q.shape) == 3 else None
    batch = q.shape[0] if q.shape is not None else None
    state_dtype = dtype_of(arg(inputs, 3)) or q.dtype
    return [(q.dtype, y), (state_dtype, (batch, kv_heads, d_k, d_v))][: len(node.outputs)]


@rule("FlexAttention", domain="ai.onnx.preview")
def _flex_attention(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    q, v = inputs[0], inputs[2]
    if q.shape is None or len(q.shape) != 4:
        return [(q.dtype, None)]
    v_size = v.shape[3] if v.shape is not None and len(v.shape) == 4 else None
    return [(q.dtype, (*q.shape[:3], v_size))]
