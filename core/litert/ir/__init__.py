"""The litert IR: see :mod:`litert.ir.graph` and :mod:`litert.ir.dtypes`."""
from .dtypes import DType
from .graph import Dim, Graph, Layout, Model, Node, QuantParams, Shape, Value, constant_array

__all__ = ["DType", "Dim", "Graph", "Layout", "Model", "Node", "QuantParams", "Shape", "Value", "constant_array"]
