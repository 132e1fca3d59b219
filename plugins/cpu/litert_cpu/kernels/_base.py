"""The contract between the CPU executor and one operator kernel.

A kernel object is built once per graph node when a model is compiled, so the
constructor is the place for everything that does not depend on input data:
parsing attributes, pre-packing constant weights, choosing an algorithm.
``run`` is then called once per inference with numpy arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


class KernelContext:
    """What a kernel may know about its node at compile time.

    ``consts[i]`` is the value of input ``i`` when it is a constant (weights,
    shape tensors), else ``None``.  Shapes and dtypes are ``None`` where the
    graph does not know them statically; a shape may hold ``None`` or a string
    for a symbolic dimension.  ``run_subgraph`` runs a control-flow subgraph
    (a litert Graph) with the given inputs, outer-scope values resolved by the
    executor, which sets it.

    A plain class, not a dataclass: every process's first load defines it, and
    a dataclass took ~0.5 ms to define (its generated methods are compiled then).
    """

    def __init__(self, op_type: str, domain: str = "", opset: int = 0, consts: Sequence[np.ndarray | None] = (),
                 input_shapes: Sequence[tuple | None] = (), input_dtypes: Sequence[np.dtype | None] = (),
                 num_outputs: int = 1, node_name: str = "",
                 run_subgraph: Callable[..., list[np.ndarray]] | None = None):
        self.op_type, self.domain, self.opset, self.node_name = op_type, domain, opset, node_name
        self.consts, self.input_shapes, self.input_dtypes = consts, input_shapes, input_dtypes
        self.num_outputs, self.run_subgraph = num_outputs, run_subgraph

    def __repr__(self) -> str:
        return f"KernelContext({self.op_type!r}, domain={self.domain!r}, opset={self.opset}, node={self.node_name!r})"

    def const(self, index: int) -> np.ndarray | None:
        """The constant value of input ``index``, or ``None``."""
        if index < len(self.consts):
            return self.consts[index]
        return None


class Kernel:
    """Base class of every CPU kernel.

    ``attrs`` holds the node's attributes with the schema's defaults already
    applied: ints, floats, strs, lists of those, numpy arrays for tensors, and
    litert ``Graph`` objects for subgraphs.  An optional attribute that has no
    default and was not given is absent.

    A kernel that lists input positions in ``inplace`` may be called as
    ``run(*inputs, out=array)`` where ``array`` is one of those inputs, dead
    after this node: it may write its first output there (and must return the
    array it wrote), or ignore ``out`` when shape or dtype do not fit.
    """

    #: input positions whose array the executor may offer as ``out=``
    inplace: tuple[int, ...] = ()

    def __init__(self, attrs: dict[str, Any], ctx: KernelContext):
        self.attrs = attrs
        self.ctx = ctx

    def run(self, *inputs: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
        """Compute the outputs.

        Receives one argument per node input, in order; an omitted optional
        input is ``None``.  Returns a tuple with one entry per node output.
        """
        raise NotImplementedError
