"""The litert intermediate representation: values, nodes, graphs, models.

Values are named (as in ONNX) and owned by their graph; nodes refer to values
by name.  Operator semantics follow the latest ONNX version of each operator
(see :mod:`litert.schema`); frontends upgrade older forms when they import.

The classes are written out, not dataclasses (:mod:`litert.record` says why); equality is identity (a
value's arrays have no single truth value to compare by).
"""
from __future__ import annotations

import contextlib
import math
from enum import Enum
from typing import Any

import numpy as np

from ..record import Record
from .dtypes import DType

#: A dimension: a fixed size, a symbolic name ("batch"), or None when unknown.
Dim = int | str | None
Shape = tuple[Dim, ...]


class Layout(Enum):
    """Data layout of a 4-D activation, where it matters (NCHW is ONNX's)."""

    ANY = "any"
    NCHW = "NCHW"
    NHWC = "NHWC"


class QuantParams(Record):
    """Affine quantisation of a value: ``real = scale * (q - zero_point)``.

    Per-tensor when ``axis`` is None (scale and zero_point have one element),
    per-channel along ``axis`` otherwise.  Immutable.
    """

    __slots__ = ("scale", "zero_point", "axis")
    FIELDS = __slots__
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None

    def __init__(self, scale: np.ndarray, zero_point: np.ndarray, axis: int | None = None) -> None:
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "zero_point", zero_point)
        object.__setattr__(self, "axis", axis)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"QuantParams is immutable: use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("QuantParams is immutable")

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles go through the constructor, not setattr
        return QuantParams, (self.scale, self.zero_point, self.axis)

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """``scale * (q - zero_point)`` of the integers ``q`` as float32 (computed in float64), along ``axis``
        when there is more than one scale."""
        shape = [1] * q.ndim
        if self.axis is not None and np.size(self.scale) > 1:
            shape[self.axis] = -1
        scale = np.asarray(self.scale, np.float64).reshape(shape)
        zero = np.asarray(self.zero_point, np.float64).reshape(shape)
        return ((q.astype(np.float64) - zero) * scale).astype(np.float32)


class Value(Record):
    """A tensor flowing through a graph: graph input, constant or node output.

    Sequence/optional values (ONNX sequence and optional types) carry a ``kind``.
    """

    __slots__ = ("name", "dtype", "shape", "const", "quant", "layout", "kind")
    FIELDS: tuple[str, ...] = __slots__

    def __init__(self, name: str, dtype: DType | None = None, shape: Shape | None = None,
                 const: np.ndarray | None = None, quant: QuantParams | None = None, layout: Layout = Layout.ANY,
                 kind: str = "tensor") -> None:
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.const = const
        self.quant = quant
        self.layout = layout
        self.kind = kind

    @property
    def is_const(self) -> bool:
        return self.const is not None

    @property
    def array(self) -> np.ndarray:
        """The constant's contents, for code that already checked :attr:`is_const` (ValueError otherwise)."""
        if self.const is None:
            raise ValueError(f"value {self.name!r} is not a constant")
        return self.const

    @property
    def is_static(self) -> bool:
        """True when every dimension is a known integer."""
        return self.shape is not None and all(isinstance(d, int) for d in self.shape)

    @property
    def nbytes(self) -> int | None:
        dims = [d for d in self.shape or () if isinstance(d, int)]
        if self.shape is None or len(dims) != len(self.shape) or self.dtype is None or self.dtype is DType.STRING:
            return None
        return math.prod(dims) * self.dtype.itemsize  # exact: int64 would wrap on hostile dims


class Node(Record):
    """One operator application.  An empty input name is an omitted optional input."""

    __slots__ = ("op_type", "inputs", "outputs", "attrs", "name", "domain")
    FIELDS = __slots__

    def __init__(self, op_type: str, inputs: list[str], outputs: list[str], attrs: dict[str, Any] | None = None,
                 name: str = "", domain: str = "") -> None:
        self.op_type = op_type
        self.inputs = inputs
        self.outputs = outputs
        self.attrs = {} if attrs is None else attrs
        self.name = name
        self.domain = domain

    @property
    def qualified_op(self) -> str:
        return f"{self.domain}::{self.op_type}" if self.domain else self.op_type

    def reads(self) -> list[str]:
        """Every value name this node reads: its non-empty inputs, then the
        enclosing-scope names its control-flow bodies read."""
        names = [n for n in self.inputs if n]
        if self.attrs:  # most nodes have no attributes, hence no bodies (called per node by every pass)
            for sub in self.subgraphs():
                names.extend(sorted(sub.outer_references()))
        return names

    def subgraphs(self) -> list[Graph]:
        """The bodies among the attributes (a graph, or a list of them), as a list: every pass asks every node,
        most of which have attributes and no body, and a generator's set-up was half of each ask."""
        bodies: list[Graph] = []
        for value in self.attrs.values():
            if isinstance(value, Graph):
                bodies.append(value)
            elif isinstance(value, list) and value and isinstance(value[0], Graph):
                bodies.extend(value)
        return bodies


#: from this size up (where numpy advises its own memory into transparent huge pages) :func:`constant_array`
#: maps memory of its own on 4 KB pages: on a virtual machine whose host backs memory lazily, the first touch of
#: a fresh huge page can wait for the host to back all of its 2 MB (VGG-19's 478 MB of classifier weights, kept
#: as read: 2.2 s loads against 1.5; ResNet-50's BatchNorm-folded weights: 120 ms of optimising against 50 in
#: such a load).  These arrays are the model's record of its weights; what runs read is a backend's own copy.
_MAPPED_FROM = 4 << 20


def constant_array(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised, writable C-contiguous array for a constant the IR keeps (a pass's rewritten weights)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < _MAPPED_FROM or dtype.hasobject:  # objects (strings) are references numpy must own
        return np.empty(shape, dtype)
    import mmap

    out: np.ndarray = np.frombuffer(mmap.mmap(-1, nbytes), dtype).reshape(shape)
    return out


def _owned_copy(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` in memory of its own (:func:`constant_array`)."""
    out = constant_array(array.shape, array.dtype)
    out[...] = array
    return out


def _views(array: np.ndarray, buffer: object) -> bool:
    """Whether ``array``'s memory is ``buffer``'s (a view of a view of ... of it, as numpy records them)."""
    base: object = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return base is buffer


class Graph(Record):
    """A computation: nodes in topological order over named values.

    A subgraph (the body of If/Loop/Scan) may read values of enclosing graphs
    by name; those names appear in no ``values`` entry of the subgraph.
    """

    __slots__ = ("nodes", "inputs", "outputs", "values", "name")
    FIELDS = __slots__

    def __init__(self, nodes: list[Node] | None = None, inputs: list[str] | None = None,
                 outputs: list[str] | None = None, values: dict[str, Value] | None = None, name: str = "main") -> None:
        self.nodes = [] if nodes is None else nodes
        self.inputs = [] if inputs is None else inputs
        self.outputs = [] if outputs is None else outputs
        self.values = {} if values is None else values
        self.name = name

    def value(self, name: str) -> Value:
        """The value called ``name``, created empty on first use."""
        if name not in self.values:
            self.values[name] = Value(name)
        return self.values[name]

    def constants(self) -> dict[str, Value]:
        return {n: v for n, v in self.values.items() if v.is_const}

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs if out}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.reads() if node.attrs else node.inputs:
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def outer_references(self) -> set[str]:
        """Names this graph (or its own subgraphs) reads but does not define."""
        defined = set(self.inputs) | {n for n, v in self.values.items() if v.is_const}
        defined |= {out for node in self.nodes for out in node.outputs}
        used: set[str] = set()
        for node in self.nodes:
            used.update(n for n in node.inputs if n)
            for sub in node.subgraphs():
                used |= sub.outer_references()
        used.update(self.outputs)
        return used - defined

    def weight_bytes(self) -> int:
        return sum(int(v.const.nbytes) for v in self.values.values() if v.const is not None)

    def copy(self) -> Graph:
        """A copy whose nodes and values can be rewritten without touching this graph (constant arrays and
        subgraph attributes are shared: a rewrite replaces them, never modifies them)."""
        return Graph(
            nodes=[n.replace(inputs=list(n.inputs), outputs=list(n.outputs), attrs=dict(n.attrs)) for n in self.nodes],
            inputs=list(self.inputs), outputs=list(self.outputs),
            values={k: v.replace() for k, v in self.values.items()}, name=self.name)

    def unique_name(self, base: str) -> str:
        name, i = base, 0
        while name in self.values:
            i += 1
            name = f"{base}_{i}"
        self.values[name] = Value(name)
        return name


class Model(Record):
    """A graph plus the metadata a serialiser needs to write it back.

    ``mapped_file``: the model file's read-only map while some constants are views of it (a frontend's
    answer to ``LoadOptions.borrow_file``), until :meth:`detach_file`.
    """

    FIELDS = ("graph", "opsets", "producer", "source_format", "metadata", "ir_version")
    __slots__ = (*FIELDS, "mapped_file")

    def __init__(self, graph: Graph, opsets: dict[str, int] | None = None, producer: str = "",
                 source_format: str = "", metadata: dict[str, str] | None = None,
                 ir_version: int | None = None) -> None:
        self.graph = graph
        self.opsets = {} if opsets is None else opsets
        self.producer = producer
        self.source_format = source_format
        self.metadata = {} if metadata is None else metadata
        self.ir_version = ir_version
        self.mapped_file: Any = None

    def detach_file(self) -> None:
        """Copy the main graph's constants that are still views of :attr:`mapped_file` and close the map:
        once the load has returned nothing may read a file that another process could rewrite or truncate
        (a truncated map faults).  Where a view survives elsewhere (the map refuses to close while it is
        exported), the map stays open, so that view stays valid."""
        mapped, self.mapped_file = self.mapped_file, None
        if mapped is None:
            return
        for value in self.graph.values.values():
            if value.const is not None and _views(value.const, mapped):
                value.const = _owned_copy(value.const)
        with contextlib.suppress(BufferError):  # a view the walk above did not reach: the map lives while it does
            mapped.close()
