"""Content propagation for shape computations (ONNX's "data propagation").

Only small integer tensors of rank 0 or 1 take part: the values shape
arithmetic passes around.  Their content is either a numpy array (fully
known) or a flat tuple of dims where some entries are symbolic (``"N"``) or
unknown (``None``), e.g. ``Shape`` of a ``("N", 3, 224, 224)`` tensor.

``DATA_RULES[(domain, op)] = fn(node, inputs, outputs) -> [content | None]``;
``inputs`` carry known content in ``const`` or ``Known.data`` (see
:mod:`._base`), ``outputs`` are the node's output values (types already
inferred).
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np

from ...ir import Dim, DType, Node, Value
from ._base import arg, constant_value, ints

Data = np.ndarray | tuple[Dim, ...]
#: ``fn(node, input values, output values) -> one Data (or None) per output``
DataRule = Callable[[Node, "list[Value | None]", "list[Value | None]"], "list[Data | None]"]
DATA_RULES: dict[tuple[str, str], DataRule] = {}

#: larger contents are not tracked (they are not shapes)
MAX_ELEMENTS = 64
_INT_TYPES = {DType.INT64, DType.INT32, DType.INT16, DType.INT8, DType.UINT8, DType.UINT16, DType.UINT32, DType.UINT64}


def data_rule(*ops: str) -> Callable[[DataRule], DataRule]:
    def decorate(fn: DataRule) -> DataRule:
        for op in ops:
            DATA_RULES[("", op)] = fn
        return fn

    return decorate


def content(v: Value | None) -> tuple[Dim, ...] | None:
    """The flat content of a rank-0/1 integer input, or None."""
    if v is None:
        return None
    if v.const is not None:
        c = np.asarray(v.const)
        if c.dtype.kind not in "iu" or c.ndim > 1 or c.size > MAX_ELEMENTS:
            return None
        return tuple(int(x) for x in c.reshape(-1))
    return getattr(v, "data", None)


def _all_known(dims: Sequence[Dim] | None) -> list[int] | None:
    """``dims`` as ints when every entry is a known int, else None."""
    if dims is None or not all(isinstance(d, (int, np.integer)) for d in dims):
        return None
    return [int(d) for d in dims if d is not None and not isinstance(d, str)]


def _pack(dims: Sequence[Dim] | None, out: Value | None, dtype: DType | None = None) -> Data | None:
    """Content in its stored form: an array when every entry is known."""
    if dims is None or out is None or out.shape is None or len(out.shape) > 1 or len(dims) > MAX_ELEMENTS:
        return None
    if out.shape and isinstance(out.shape[0], int) and out.shape[0] != len(dims):
        return None
    if not out.shape and len(dims) != 1:
        return None
    known = _all_known(dims)
    if known is not None:
        np_type = (dtype or out.dtype or DType.INT64).numpy
        return np.array(known, dtype=np_type).reshape(out.shape if out.shape else ())
    return tuple(dims)


@data_rule("Shape")
def _shape(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    x = inputs[0]
    if x is None or x.shape is None:
        return [None]
    rank = len(x.shape)
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    dims = x.shape[slice(start, end if end is not None else rank)]
    return [_pack(dims, outputs[0], DType.INT64)]


@data_rule("Size")
def _size(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    x = inputs[0]
    dims = _all_known(x.shape) if x is not None else None
    if dims is None:
        return [None]
    return [np.array(int(np.prod(dims, dtype=np.int64)), dtype=np.int64)]


@data_rule("Identity", "Squeeze", "Unsqueeze", "Reshape", "Flatten")
def _same_content(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    # rank 0 <-> 1 only changes the packing of the flat content
    return [_pack(content(inputs[0]), outputs[0])]


@data_rule("Cast")
def _cast(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    to = node.attrs.get("to")
    if not to or DType(to) not in _INT_TYPES:
        return [None]
    return [_pack(content(inputs[0]), outputs[0], DType(to))]


@data_rule("Concat")
def _concat(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    parts = [content(v) for v in inputs if v is not None]
    joined: list[Dim] = []
    for part in parts:
        if part is None:
            return [None]
        joined.extend(part)
    return [_pack(joined if parts else None, outputs[0])]


@data_rule("Gather")
def _gather(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    data, idx = content(inputs[0]), ints(inputs, 1)
    if data is None or idx is None or node.attrs.get("axis", 0) not in (0, -1):
        return [None]
    if not all(-len(data) <= i < len(data) for i in idx):
        return [None]  # an out-of-range index is the kernel's error to report
    return [_pack([data[i] for i in idx], outputs[0])]


@data_rule("Slice")
def _slice(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    data = content(inputs[0])
    starts, ends = ints(inputs, 1), ints(inputs, 2)
    axes = ints(inputs, 3) if arg(inputs, 3) is not None else [0]
    steps = ints(inputs, 4) if arg(inputs, 4) is not None else [1]
    if data is None or starts is None or ends is None or axes is None or steps is None:
        return [None]
    if len(starts) != 1 or axes[0] not in (0, -1):
        return [None]
    return [_pack(data[slice(*_clamp(starts[0], ends[0], steps[0], len(data)))], outputs[0])]


def _clamp(start: int, end: int, step: int, n: int) -> tuple[int, int, int]:
    return slice(start, end, step).indices(n)


def _int_div(a: int, b: int) -> int | None:
    if b == 0:
        return None
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


#: op -> (function on known ints, identity element that keeps a symbolic dim)
_ARITH: dict[str, tuple[Callable[[int, int], int | None], int | None]] = {
    "Add": (operator.add, 0),
    "Sub": (operator.sub, 0),
    "Mul": (operator.mul, 1),
    "Div": (_int_div, 1),
    "Max": (max, None),
    "Min": (min, None),
}


def _binary(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    fn, neutral = _ARITH[node.op_type]
    if len(inputs) != 2:
        return [None]
    a, b = content(inputs[0]), content(inputs[1])
    if a is None or b is None or (len(a) != len(b) and 1 not in (len(a), len(b))):
        return [None]
    n = max(len(a), len(b))
    a, b = (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
    out: list[Dim] = []
    for x, y in zip(a, b):
        if isinstance(x, int) and isinstance(y, int):
            out.append(fn(x, y))
        elif y == neutral and neutral is not None:
            out.append(x)
        elif x == neutral and node.op_type in ("Add", "Mul"):
            out.append(y)
        else:
            out.append(None)
    return [_pack(out, outputs[0])]


for _op in _ARITH:
    DATA_RULES[("", _op)] = _binary


@data_rule("Neg")
def _neg(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    a = content(inputs[0])
    if a is None:
        return [None]
    return [_pack([-x if isinstance(x, int) else None for x in a], outputs[0])]


@data_rule("ReduceProd", "ReduceSum")
def _reduce(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    a = _all_known(content(inputs[0]))
    if a is None or outputs[0] is None:
        return [None]
    given = arg(inputs, 1)
    axes = content(given) if given is not None else ()
    if axes is None:
        return [None]
    if not axes and node.attrs.get("noop_with_empty_axes", 0):
        return [_pack(a, outputs[0])]
    total = int(np.prod(a, dtype=np.int64)) if node.op_type == "ReduceProd" else sum(a)
    return [_pack([total], outputs[0])]


@data_rule("Constant")
def _constant(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    value = constant_value(node)
    if value is None or value.dtype.kind not in "iu" or value.ndim > 1 or value.size > MAX_ELEMENTS:
        return [None]
    return [value]


@data_rule("ConstantOfShape")
def _constant_of_shape(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    dims = _all_known(content(inputs[0]))
    value = node.attrs.get("value")
    fill = np.asarray(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    if dims is None or len(dims) > 1 or fill.dtype.kind not in "iu":
        return [None]
    if int(np.prod(dims, dtype=np.int64)) > MAX_ELEMENTS:
        return [None]
    return [np.full(tuple(dims), fill[0], dtype=fill.dtype)]


@data_rule("Range")
def _range(node: Node, inputs: list[Value | None], outputs: list[Value | None]) -> list[Data | None]:
    start, limit, delta = (_all_known(content(v)) or [] for v in inputs[:3])
    if not len(start) == len(limit) == len(delta) == 1:
        return [None]
    values = np.arange(start[0], limit[0], delta[0]) if delta[0] else None
    if values is None or values.size > MAX_ELEMENTS:
        return [None]
    return [values.astype(outputs[0].dtype.numpy if outputs[0] is not None and outputs[0].dtype else np.int64)]
