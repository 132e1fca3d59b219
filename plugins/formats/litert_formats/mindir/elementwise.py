"""The one-to-one elementwise MindSpore primitives and their ONNX operators, read and written from one table.

The reader (:mod:`.read_ops`) maps each primitive to its operator; the writer
(:mod:`.write_ops`) maps each operator back, so a model written and read
again keeps its operators.
"""
from __future__ import annotations

#: one-input primitive -> ONNX operator
UNARY = {
    "ReLU": "Relu", "HSwish": "HardSwish", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Erf": "Erf", "Exp": "Exp",
    "Log": "Log", "Sqrt": "Sqrt", "Reciprocal": "Reciprocal", "Neg": "Neg", "Abs": "Abs", "Floor": "Floor",
    "Ceil": "Ceil", "Sin": "Sin", "Cos": "Cos", "Sign": "Sign",
}
#: two-input (broadcasting) primitive -> ONNX operator
BINARY = {
    "Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Equal": "Equal", "Less": "Less",
    "Greater": "Greater", "LessEqual": "LessOrEqual", "GreaterEqual": "GreaterOrEqual",
}
#: more two-input primitives the reader maps to one of those operators; the writer writes them as :data:`BINARY`'s
#: (Max and Min, which ONNX makes variadic, become chains of Maximum/Minimum)
READ_ONLY_BINARY = {"RealDiv": "Div", "Muls": "Mul", "Divs": "Div", "Maximum": "Max", "Minimum": "Min"}


def inverse(table: dict[str, str]) -> dict[str, str]:
    """ONNX operator -> primitive, for the writer."""
    return {onnx_op: primitive for primitive, onnx_op in table.items()}
