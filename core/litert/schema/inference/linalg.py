"""Matrix products: MatMul (and its integer, quantised and fused forms),
Gemm, Einsum, Det."""
from __future__ import annotations

from ...ir import Dim, DType, Graph, Node, Shape
from ._base import Info, Inputs, arg, broadcast, dtype_of, rule


def matmul_shape(a: Shape | None, b: Shape | None) -> Shape | None:
    """numpy ``matmul`` shape rules (1-D operands promoted then dropped)."""
    if a is None or b is None or not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return (*b[:-2], b[-1])
    if len(b) == 1:
        return tuple(a[:-1])
    batch = broadcast(tuple(a[:-2]), tuple(b[:-2]))
    return None if batch is None else (*batch, a[-2], b[-1])


@rule("MatMul")
def _matmul(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(dtype_of(inputs[0]), matmul_shape(inputs[0].shape, inputs[1].shape))]


@rule("MatMulInteger")
def _matmul_integer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.INT32, matmul_shape(inputs[0].shape, inputs[1].shape))]


@rule("QLinearMatMul")
def _qlinear_matmul(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    # a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
    dtype = dtype_of(arg(inputs, 7)) or dtype_of(inputs[0])
    return [(dtype, matmul_shape(inputs[0].shape, inputs[3].shape))]


@rule("FusedMatMul", domain="com.microsoft")
def _fused_matmul(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    a, b = inputs[0].shape, inputs[1].shape
    if node.attrs.get("transBatchA") or node.attrs.get("transBatchB"):
        return [(dtype_of(inputs[0]), None)]
    if a is not None and len(a) >= 2 and node.attrs.get("transA"):
        a = (*a[:-2], a[-1], a[-2])
    if b is not None and len(b) >= 2 and node.attrs.get("transB"):
        b = (*b[:-2], b[-1], b[-2])
    return [(dtype_of(inputs[0]), matmul_shape(a, b))]


@rule("Gemm")
@rule("FusedGemm", domain="com.microsoft")
def _gemm(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    a, b = inputs[0], inputs[1]
    if a.shape is None or b.shape is None:
        m = None if a.shape is None else a.shape[1 if node.attrs.get("transA", 0) else 0]
        n = None if b.shape is None else b.shape[0 if node.attrs.get("transB", 0) else 1]
        return [(a.dtype, (m, n))]
    m = a.shape[1] if node.attrs.get("transA", 0) else a.shape[0]
    n = b.shape[0] if node.attrs.get("transB", 0) else b.shape[1]
    return [(a.dtype, (m, n))]


@rule("Det")
def _det(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    return [(x.dtype, None if x.shape is None else tuple(x.shape[:-2]))]


@rule("Einsum")
def _einsum(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    dtype = dtype_of(inputs[0])
    shapes = [v.shape for v in inputs if v is not None and v.shape is not None]
    if len(shapes) != len(inputs):
        return [(dtype, None)]
    equation = node.attrs["equation"].replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError("Einsum equation does not match the inputs")
    letters: dict[str, Dim] = {}
    ellipses: list[Shape] = []
    for term, shape in zip(terms, shapes):
        named = term.replace("...", "")
        n_ellipsis = len(shape) - len(named)
        if "..." in term:
            before = term.index("...")
            ellipses.append(tuple(shape[before:before + n_ellipsis]))
            dims = list(shape[:before]) + list(shape[before + n_ellipsis:])
        else:
            if n_ellipsis:
                raise ValueError("Einsum term rank mismatch")
            dims = list(shape)
        for letter, d in zip(named, dims):
            previous = letters.get(letter, 1)
            letters[letter] = d if previous == 1 or (previous is None and isinstance(d, int) and d != 1) else previous
    batch = broadcast(*ellipses) if ellipses else ()
    if not arrow:  # implicit output: ellipsis dims, then letters used once, alphabetically
        counts = {c: lhs.count(c) for c in set(lhs.replace("...", "").replace(",", ""))}
        rhs = ("..." if ellipses else "") + "".join(sorted(c for c, k in counts.items() if k == 1))
    out: list[Dim] = []
    rest = rhs
    while rest:
        if rest.startswith("..."):
            if batch is None:
                return [(dtype, None)]
            out.extend(batch)
            rest = rest[3:]
        else:
            out.append(letters[rest[0]])
            rest = rest[1:]
    return [(dtype, tuple(out))]
