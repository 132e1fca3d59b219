"""The rule table and the helpers the per-family rule modules share.

A rule is ``fn(node, inputs, graph) -> list[Info]``, one ``Info`` per node
output.  ``inputs`` holds one :class:`~litert.ir.Value` per input name (an
unknown one for names no scope defines) and ``None`` for an omitted optional
input.  Input values whose contents inference knows without them being
constants (the output of ``Shape`` on a static tensor, say) arrive with that
content in ``const`` (or, for a 1-D shape holding symbolic dims, in the
``data`` attribute of a :class:`Known`); read them with :func:`const`,
:func:`ints` and :func:`shape_data`, never with ``Value.is_const``.

An ``Info`` is ``(dtype, shape)`` or ``(dtype, shape, kind)``; ``None`` means
unknown.  A dim that depends on tensor data inference cannot see is ``None``,
never a guess.

:data:`RULES` is a :class:`litert.lazy_table.LazyTable`: it knows from
:data:`._index.INDEX` which module's ``@rule`` registers each operator and
imports that module the first time the rule is asked for, so a load imports
the rule modules of its model's operators, not all of them.  ``_index.py`` is
generated from the decorators (``python tools/gen_kernel_index.py``);
``tests/test_table_indexes.py`` fails when it no longer matches them.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ...ir import Dim, DType, Graph, Node, Shape, Value
from ...lazy_table import LazyTable
from ._index import INDEX

Info = tuple[Any, ...]  # (DType | None, Shape | None) or (DType | None, Shape | None, kind)
#: a rule's view of a node's inputs: None for an omitted optional one
Inputs = list["Value | None"]
Rule = Callable[[Node, Inputs, Graph], "list[Info]"]

#: (domain, op_type) -> rule; the ONNX default domain is "".  A rule's module is imported on first lookup.
RULES: LazyTable[tuple[str, str], Rule] = LazyTable(__name__.rpartition(".")[0], INDEX, what="shape rule")

UNKNOWN: Info = (None, None)


def rule(*ops: str, domain: str = "") -> Callable[[Rule], Rule]:
    """Register ``fn`` as the rule of every operator in ``ops`` (one domain); a second rule for one is a ValueError."""

    def decorate(fn: Rule) -> Rule:
        for op in ops:
            RULES.register((domain, op), fn)
        return fn

    return decorate


#: a :func:`shaped_rule`: a :data:`Rule` also given the known shape of input 0
ShapedRule = Callable[[Node, Inputs, Graph, Shape], "list[Info]"]


def shaped_rule(*ops: str, domain: str = "") -> Callable[[ShapedRule], Rule]:
    """:func:`rule` for operators whose one output's shape is worked out from their first input's: while that
    shape is unknown the output is an unknown shape of the input's dtype and ``fn`` is not called; once it
    is known, ``fn`` gets it as its last argument."""

    def decorate(fn: ShapedRule) -> Rule:
        @functools.wraps(fn)
        def when_shaped(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
            x = inputs[0] if inputs else None
            if x is None or x.shape is None:
                return [like(x)]
            return fn(node, inputs, graph, x.shape)

        return rule(*ops, domain=domain)(when_shaped)

    return decorate


def scalar_rule(*ops: str, dtype: DType) -> None:
    """Register the rule of operators whose one output is always a ``dtype`` scalar (Size, SequenceLength...)."""
    def scalar_of(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
        return [(dtype, ())]

    rule(*ops)(scalar_of)


class Known(Value):
    """An input whose content inference derived: a 1-D integer tensor whose
    entries may be symbolic (``("N", 3)``), e.g. a ``Shape`` output."""

    __slots__ = ("data",)
    FIELDS = (*Value.FIELDS, "data")

    def __init__(self, *args: Any, data: tuple[Dim, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data = data


# ---------------------------------------------------------------- reading inputs


def constant_value(node: Node) -> np.ndarray | None:
    """The tensor a Constant node holds (whichever ``value*`` attribute is set)."""
    attrs = node.attrs
    for key in ("value", "sparse_value"):
        if attrs.get(key) is not None:
            return np.asarray(attrs[key])
    for key, np_type in (("value_float", np.float32), ("value_floats", np.float32),
                         ("value_int", np.int64), ("value_ints", np.int64)):
        if attrs.get(key) is not None:
            return np.array(attrs[key], dtype=np_type)
    for key in ("value_string", "value_strings"):
        if attrs.get(key) is not None:
            return np.array(attrs[key], dtype=object)
    return None


def arg(inputs: Sequence[Value | None], index: int) -> Value | None:
    """Input ``index``, or None when omitted or beyond the given inputs."""
    return inputs[index] if index < len(inputs) else None


def dtype_of(v: Value | None) -> DType | None:
    return v.dtype if v is not None else None


def shape_of(v: Value | None) -> Shape | None:
    return v.shape if v is not None else None


def rank_of(v: Value | None) -> int | None:
    return len(v.shape) if v is not None and v.shape is not None else None


def const(inputs: Sequence[Value | None], index: int) -> np.ndarray | None:
    """The content of input ``index`` when known (a constant or derived), else None."""
    v = arg(inputs, index)
    return v.const if v is not None else None


def ints(inputs: Sequence[Value | None], index: int) -> list[int] | None:
    """A known integer input as a flat list."""
    c = const(inputs, index)
    if c is None or c.dtype.kind not in "iub":
        return None
    return [int(x) for x in np.asarray(c).reshape(-1)]


def scalar(inputs: Sequence[Value | None], index: int) -> int | float | None:
    """A known one-element input as a Python number."""
    c = const(inputs, index)
    if c is None or c.size != 1 or c.dtype.kind not in "iufb":
        return None
    item = np.asarray(c).reshape(-1)[0]
    return int(item) if c.dtype.kind in "iub" else float(item)


def shape_data(inputs: Sequence[Value | None], index: int) -> tuple[Dim, ...] | None:
    """A 1-D shape-like input (Reshape target, Expand shape) with symbolic
    entries where inference only knows them by name; None when unknown."""
    v = arg(inputs, index)
    if v is None:
        return None
    values = ints(inputs, index)
    if values is not None:
        return tuple(values)
    return getattr(v, "data", None)


def is_omitted(node: Node, index: int) -> bool:
    return index >= len(node.inputs) or not node.inputs[index]


# ---------------------------------------------------------------- dims and shapes


def static(shape: Shape | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


def known(d: Dim) -> bool:
    return isinstance(d, int)


def norm_axis(axis: int, rank: int) -> int:
    """``axis`` in ``[0, rank)``; ValueError when out of range (the rule then gives up)."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def product(dims: Iterable[Dim]) -> int | None:
    total = 1
    for d in dims:
        if not isinstance(d, int):
            return None
        total *= d
    return total


def dim_op(fn: Callable[..., int], *dims: Dim) -> Dim:
    """``fn`` over known dims; None when any is not a known int."""
    return fn(*dims) if all(isinstance(d, int) for d in dims) else None


def broadcast(*shapes: Shape | None) -> Shape | None:
    """Numpy (multidirectional) broadcasting of shapes, as ONNX infers it:
    a known dim > 1 wins, all-1 gives 1, one symbol (with 1s) stays that
    symbol, anything else is unknown."""
    known = [s for s in shapes if s is not None]
    if not known or len(known) != len(shapes):
        return None
    if all(s == known[0] for s in known):  # the common case (an Add of two like tensors): itself, dim by dim
        return tuple(known[0])
    rank = max(len(s) for s in known)
    out: list[Dim] = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in known if axis - rank + len(s) >= 0]
        fixed = {d for d in dims if isinstance(d, int) and d != 1}
        if len(fixed) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        if fixed:
            out.append(fixed.pop())
        elif all(d == 1 for d in dims):
            out.append(1)
        else:
            rest = {d for d in dims if d != 1}
            out.append(rest.pop() if len(rest) == 1 else None)
    return tuple(out)


def merge_dim(a: Dim, b: Dim) -> Dim:
    """The dim two alternatives agree on (If branches, loop iterations), else None."""
    return a if a == b else None


def merge_shape(a: Shape | None, b: Shape | None) -> Shape | None:
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(merge_dim(x, y) for x, y in zip(a, b))


def merge_info(infos: Sequence[Info]) -> Info:
    """What is common to several possible types of one output."""
    if not infos:
        return UNKNOWN
    dtype, shape, kind = infos[0][0], infos[0][1], kind_of(infos[0])
    for info in infos[1:]:
        dtype = dtype if info[0] == dtype else None
        shape = merge_shape(shape, info[1])
        kind = kind if kind_of(info) == kind else None
    return (dtype, shape, kind)


def kind_of(info: Info) -> str | None:
    return info[2] if len(info) > 2 else None


def same(v: Value | None) -> Info:
    """The type of ``v`` itself (kind included): for operators that keep it."""
    if v is None:
        return UNKNOWN
    return (v.dtype, v.shape, v.kind)


def like(v: Value | None, dtype: DType | None = None) -> Info:
    """A tensor of ``v``'s shape, with ``v``'s dtype unless ``dtype`` is given."""
    if v is None:
        return (dtype, None)
    return (dtype or v.dtype, v.shape)


def attr_dtype(node: Node, name: str, default: DType | None = None) -> DType | None:
    """A dtype-code attribute (``to``, ``dtype``, ``output_datatype``); 0/absent gives ``default``."""
    code = node.attrs.get(name)
    return DType(int(code)) if code else default


def each(node: Node, info: Info) -> list[Info]:
    """``info`` for every output of ``node``."""
    return [info] * len(node.outputs)
