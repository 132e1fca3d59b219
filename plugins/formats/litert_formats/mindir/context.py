"""What a primitive converter sees while a MindIR graph is read (:class:`NodeContext`).

The reader keeps one *entry* per MindIR value name:

* ``str`` - an IR tensor value (graph input, node output, materialised constant);
* :class:`Const` - a compile-time value (Constant node or parameter): scalar,
  tuple, ``None`` or numpy array; it becomes an IR constant only when an
  operator reads it as a tensor;
* ``tuple`` - a MakeTuple, or a primitive with several outputs;
* :data:`~.values.MONAD` - a side-effect token;
* :class:`Unavailable` - a value litert cannot provide (an unused output of a
  primitive, a constant of an exotic type); reading it is an error that names it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from litert.errors import UnsupportedOperatorError
from litert.ir import DType, Node

from .signatures import Signature
from .values import Abstract

if TYPE_CHECKING:  # the reader owns the contexts
    from .reader import GraphReader

_MISSING = object()


@dataclass
class Const:
    """A value known while reading; ``loader`` defers decoding a parameter until it is read."""

    value: Any = None
    name: str = ""
    loader: Callable[[], np.ndarray] | None = None
    materialized: str | None = None  # IR constant made from it, shared by all readers

    def get(self) -> Any:
        if self.loader is not None:
            self.value, self.loader = self.loader(), None
        return self.value


@dataclass(frozen=True)
class Unavailable:
    """Something a converter could not produce; ``why`` says what and where."""

    why: str


class NodeContext:
    """One MindIR node being converted: its arguments, its primitive's attributes, and emitters."""

    def __init__(self, reader: GraphReader, node_name: str, op: str, args: list, attrs: dict[str, Any],
                 signature: Signature | None, abstract: Any) -> None:
        self.reader, self.name, self.op, self.args = reader, node_name, op, args
        self.attrs, self.signature, self.abstract = attrs, signature, abstract

    # -- errors ---------------------------------------------------------------

    def unsupported(self, why: str) -> UnsupportedOperatorError:
        """An error to raise: this node's use of its primitive cannot be mapped."""
        return UnsupportedOperatorError(
            f"node {self.name!r}: MindSpore primitive {self.op}: {why}",
            node=self.name, op_type=self.op, domain="mindspore",
        )

    # -- arguments --------------------------------------------------------------

    def _index(self, key: int | str) -> int | None:
        if isinstance(key, int):
            return key
        return self.signature.index(key) if self.signature is not None else None

    def has(self, key: int | str) -> bool:
        index = self._index(key)
        return index is not None and index < len(self.args)

    def entry(self, key: int | str) -> Any:
        index = self._index(key)
        if index is None or index >= len(self.args):
            raise self.unsupported(f"missing input {key!r}")
        entry = self.args[index]
        if isinstance(entry, Unavailable):
            raise self.unsupported(f"input {key!r} is {entry.why}")
        return entry

    def param(self, key: str, default: Any = _MISSING, aliases: tuple[str, ...] = ()) -> Any:
        """A constant argument by name: a node input (primitive functions) or a primitive attribute."""
        index = self._index(key)
        if index is not None and index < len(self.args):
            return self.const(index)
        for name in (key,) + aliases:
            if name in self.attrs:
                return self.attrs[name]
        if self.signature is not None and key in self.signature.defaults and default is _MISSING:
            return self.signature.defaults[key]
        if default is _MISSING:
            raise self.unsupported(f"argument {key!r} is missing")
        return default

    def attr(self, name: str, default: Any = _MISSING, aliases: tuple[str, ...] = ()) -> Any:
        for key in (name,) + aliases:
            if key in self.attrs:
                return self.attrs[key]
        if default is _MISSING:
            raise self.unsupported(f"attribute {name!r} is missing")
        return default

    def const(self, key: int | str) -> Any:
        entry = self.entry(key)
        if isinstance(entry, Const):
            return entry.get()
        if isinstance(entry, tuple) and all(isinstance(e, Const) for e in entry):
            return tuple(e.get() for e in entry)
        raise self.unsupported(f"input {key!r} must be a constant (it is computed at run time)")

    def is_const(self, key: int | str) -> bool:
        entry = self.entry(key)
        return isinstance(entry, Const) or (isinstance(entry, tuple) and all(isinstance(e, Const) for e in entry))

    def tensor(self, key: int | str, like: int | str | None = None, dtype: DType | None = None) -> str:
        """The IR value of a tensor argument; a scalar constant takes ``dtype`` or the dtype of ``like``."""
        entry = self.entry(key)
        if isinstance(entry, str):
            return entry
        if isinstance(entry, Const):
            value = entry.get()
            if isinstance(value, np.ndarray):
                return self.reader.materialize(entry)
            if isinstance(value, (bool, int, float)) or (isinstance(value, tuple) and value):
                if dtype is None and like is not None:
                    dtype = self.dtype(like)
                arr = np.asarray(value, dtype=dtype.numpy if dtype is not None else None)
                if dtype is None and arr.dtype == np.float64:
                    arr = arr.astype(np.float32)
                return self.reader.add_const(arr, f"{self.name}/{key}")
        if isinstance(entry, tuple):
            raise self.unsupported(f"input {key!r} is a tuple where a tensor is expected")
        raise self.unsupported(f"input {key!r} ({entry!r}) is not a tensor")

    def tensors(self, key: int | str) -> list[str]:
        """A tuple argument (MakeTuple) as a list of IR values."""
        entry = self.entry(key)
        if not isinstance(entry, tuple):
            return [self.tensor(key)]
        return [self.reader.as_tensor(e, f"{self.name}/{key}.{i}", self) for i, e in enumerate(entry)]

    # -- what is known about arguments ------------------------------------------

    def abstract_of(self, key: int | str) -> Abstract | None:
        entry = self.entry(key)
        if isinstance(entry, str):
            return self.reader.abstract_of(entry)
        if isinstance(entry, Const):
            value = entry.get()
            if isinstance(value, np.ndarray):
                return Abstract(DType.from_numpy(value.dtype), value.shape)
        return None

    def rank(self, key: int | str) -> int:
        abstract = self.abstract_of(key)
        if abstract is None or abstract.rank is None:
            raise self.unsupported(f"the rank of input {key!r} is unknown")
        return abstract.rank

    def dtype(self, key: int | str) -> DType | None:
        abstract = self.abstract_of(key)
        return abstract.dtype if abstract is not None else None

    # -- making -------------------------------------------------------------------

    def add_const(self, array: Any, hint: str) -> str:
        return self.reader.add_const(np.asarray(array), f"{self.name}/{hint}")

    def emit(self, op_type: str, inputs: list[str], n_out: int = 1, domain: str = "", **attrs) -> Any:
        """Append an IR node; returns its output name (or the list of names when ``n_out`` > 1)."""
        outputs = [self.reader.fresh_value(f"{self.name}/{op_type}") for _ in range(n_out)]
        node = Node(op_type, list(inputs), outputs, {k: v for k, v in attrs.items() if v is not None},
                    name=self.reader.fresh_node(f"{self.name}/{op_type}"), domain=domain)
        self.reader.append(node)
        return outputs[0] if n_out == 1 else outputs

    def transpose(self, value: str, perm: list[int]) -> str:
        """``value`` transposed; folded when ``value`` is a constant."""
        const = self.reader.graph.values.get(value)
        if const is not None and const.const is not None:
            return self.add_const(np.transpose(const.const, perm), "transposed")
        return self.emit("Transpose", [value], perm=list(perm))
