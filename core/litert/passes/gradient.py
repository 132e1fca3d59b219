"""Lower ``ai.onnx.preview.training::Gradient`` into ordinary operators.

Gradient(xs, y) asks for dy/dx of the graph's own computation, so no kernel
can run it: this pass writes the backward graph out (reverse-mode
differentiation with one vector-Jacobian rule per operator) and replaces the
Gradient node by those nodes.  Operators without a rule are reported by name.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnsupportedOperatorError
from ..ir import Graph, Model, Node, Value
from .base import Pass, PassContext, PassResult

if TYPE_CHECKING:  # numpy.typing: ~0.4 ms of import for one annotation
    import numpy.typing as npt

TRAINING = "ai.onnx.preview.training"


class _Emitter:
    """Appends backward nodes with fresh names."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes: list[Node] = []

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = self.graph.unique_name(f"grad_{op_type.lower()}")
        self.nodes.append(Node(op_type, list(inputs), [out], attrs, name=out))
        return out

    def const(self, array: np.ndarray) -> str:
        name = self.graph.unique_name("grad_const")
        self.graph.values[name] = Value(name, None, array.shape, const=array)
        from ..ir import DType

        self.graph.values[name].dtype = DType.from_numpy(array.dtype)
        return name

    def filled_like(self, name: str, fill: float, dtype: npt.DTypeLike) -> str:
        return self.op("ConstantOfShape", self.op("Shape", name), value=np.array([fill], dtype=dtype))


Rule = Callable[[_Emitter, Node, str], list[str | None]]


def _unary(fn: Callable[[_Emitter, Node, str], str]) -> Rule:
    return lambda e, n, g: [fn(e, n, g)]


RULES: dict[str, Rule] = {
    "Identity": _unary(lambda e, n, g: g),
    "Neg": _unary(lambda e, n, g: e.op("Neg", g)),
    "Add": lambda e, n, g: [g, g],
    "Sub": lambda e, n, g: [g, e.op("Neg", g)],
    "Mul": lambda e, n, g: [e.op("Mul", g, n.inputs[1]), e.op("Mul", g, n.inputs[0])],
    "Div": lambda e, n, g: [
        e.op("Div", g, n.inputs[1]),
        e.op("Neg", e.op("Div", e.op("Mul", g, n.outputs[0]), n.inputs[1])),
    ],
    "Relu": _unary(
        lambda e, n, g: e.op("Mul", g, e.op("CastLike", e.op("Greater", n.inputs[0], e.op("Sub", n.inputs[0], n.inputs[0])), g))
    ),
    "Exp": _unary(lambda e, n, g: e.op("Mul", g, n.outputs[0])),
    "Log": _unary(lambda e, n, g: e.op("Div", g, n.inputs[0])),
    "Sigmoid": _unary(lambda e, n, g: e.op("Mul", g, e.op("Sub", n.outputs[0], e.op("Mul", n.outputs[0], n.outputs[0])))),
    "Tanh": _unary(lambda e, n, g: e.op("Sub", g, e.op("Mul", g, e.op("Mul", n.outputs[0], n.outputs[0])))),
    "MatMul": lambda e, n, g: [
        e.op("MatMul", g, e.op("Transpose", n.inputs[1], perm=[1, 0])),
        e.op("MatMul", e.op("Transpose", n.inputs[0], perm=[1, 0]), g),
    ],
}


def _unbroadcast(e: _Emitter, grad: str, target: Value | None, source: Value | None) -> str:
    """Sum a gradient over the axes broadcasting added to ``target``'s shape."""
    if target is None or source is None or target.shape is None or source.shape is None or target.shape == source.shape:
        return grad
    if not target.is_static or not source.is_static:
        return grad
    out_rank, in_shape = len(source.shape), (1,) * (len(source.shape) - len(target.shape)) + tuple(target.shape)
    axes = [i for i in range(out_rank) if in_shape[i] == 1 and source.shape[i] != 1] + list(
        range(out_rank - len(in_shape)))
    if axes:
        grad = e.op("ReduceSum", grad, e.const(np.array(sorted(set(axes)), np.int64)), keepdims=1)
    return e.op("Reshape", grad, e.const(np.array(target.shape, np.int64)))


def _backward(graph: Graph, gradient: Node) -> list[Node]:
    xs, y = list(gradient.attrs["xs"]), gradient.attrs["y"]
    producers = graph.producers()
    order: list[Node] = []
    seen: set[int] = set()

    def visit(name: str) -> None:
        node = producers.get(name)
        if node is None or id(node) in seen or name in xs:
            return
        seen.add(id(node))
        for inp in node.inputs:
            if inp:
                visit(inp)
        order.append(node)

    visit(y)
    e = _Emitter(graph)
    y_dtype = graph.values[y].dtype if y in graph.values else None
    dtype = y_dtype.numpy if y_dtype is not None else np.float32
    grads: dict[str, str] = {y: e.filled_like(y, 1.0, dtype)}
    for node in reversed(order):
        g = grads.get(node.outputs[0])
        if g is None:
            continue
        rule = RULES.get(node.op_type) if node.domain == "" else None
        if rule is None:
            raise UnsupportedOperatorError(
                f"node {gradient.name!r} (Gradient): no derivative rule for {node.qualified_op} (node {node.name!r})",
                node=gradient.name, op_type="Gradient", domain=TRAINING,
            )
        for name, dx in zip(node.inputs, rule(e, node, g)):
            if not name or dx is None:
                continue
            dx = _unbroadcast(e, dx, graph.values.get(name), graph.values.get(node.outputs[0]))
            grads[name] = e.op("Add", grads[name], dx) if name in grads else dx
    for x, out in zip(xs, gradient.outputs):
        if not out:
            continue
        source = grads.get(x) or e.filled_like(x, 0.0, dtype)
        e.nodes.append(Node("Identity", [source], [out], name=graph.unique_name(f"{gradient.name}_{out}")))
    return e.nodes


class GradientLowering(Pass):
    """Replace Gradient nodes by their backward graphs (always runs)."""

    name = "gradient_lowering"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        nodes: list[Node] = []
        for node in graph.nodes:
            if node.domain == TRAINING and node.op_type == "Gradient":
                nodes.extend(_backward(graph, node))
                result.changes += 1
            else:
                nodes.append(node)
        graph.nodes = nodes
        return result
