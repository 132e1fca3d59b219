"""One registry of operator schemas: attributes, defaults, arity, inference.

The ONNX operators come from ``onnx_ops.tsv`` (generated from the ``onnx``
package by ``tools/gen_onnx_schemas.py``, so the core needs no ``onnx`` at run
time; :func:`write_table` and :class:`Table` own its layout).  Plugins add operators of their own (fused ops,
vendor ops) through the ``litert_register_schemas`` hook.  Type and shape inference functions are
attached per operator in :mod:`litert.schema.inference`.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..errors import InvalidModelError, UnsupportedOperatorError
from ..record import Record

if TYPE_CHECKING:
    from ..ir import Node

_TABLE = Path(__file__).with_name("onnx_ops.tsv")
ONNX_DOMAINS = ("", "ai.onnx")


def write_table(path: Path, onnx_version: str, table: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    """Write the operator table: a first line ``onnx_version`` and, tab-separated, ``domain=newest version`` of
    each domain; then one operator a line, tab-separated: domain, op type, its newest version, and its versions
    (ascending) as compact JSON (:class:`Table` reads it).

    One JSON document (what this was) took ~4.5 ms of every process's first load to parse, for the few
    operators a model uses: an operator's JSON is parsed when it is first asked for, and the newest versions
    (:meth:`SchemaRegistry.latest_opset`, asked by every ONNX load) are in the first line."""
    newest: dict[str, int] = {}
    lines = []
    for (domain, op_type), versions in sorted(table.items()):
        since = max(int(v["since"]) for v in versions)
        newest[domain] = max(newest.get(domain, since), since)
        lines.append(f"{domain}\t{op_type}\t{since}\t{json.dumps(versions, separators=(',', ':'), sort_keys=True)}")
    header = "\t".join([onnx_version, *(f"{domain}={since}" for domain, since in sorted(newest.items()))])
    from ..atomic import write_text

    write_text(path, "\n".join([header, *lines]) + "\n")


class Table:
    """``onnx_ops.tsv`` (:func:`write_table`'s layout) as read: each operator's line by its domain and op type, split
    further (and its JSON parsed by the registry) when the operator is first asked for."""

    def __init__(self, data: bytes) -> None:
        header, *lines = data.split(b"\n")
        version, *newest = header.decode("utf-8").split("\t")
        self.onnx_version = version
        #: domain -> its newest operator-set version
        self.newest = {domain: int(since) for domain, _, since in (pair.rpartition("=") for pair in newest)}
        #: b"domain\top_type" -> its line (~0.12 ms for the table: searching the bytes for a line instead took
        #: ~35 us for each operator the table lacks, and the contrib schemas ask for a dozen)
        self._lines = {line[:line.find(b"\t", line.find(b"\t") + 1)]: line for line in lines if line}

    @staticmethod
    def _line_key(domain: str, op_type: str) -> bytes:
        return f"{domain}\t{op_type}".encode()

    def __contains__(self, key: tuple[str, str]) -> bool:
        """Whether the table has the operator ``(domain, op_type)`` (its line is not decoded)."""
        return self._line_key(*key) in self._lines

    def row(self, domain: str, op_type: str) -> tuple[int, str] | None:
        """``op_type``'s newest version and its versions' JSON text, or None when the table has no such operator."""
        key = self._line_key(domain, op_type)
        line = self._lines.get(key)
        if line is None:
            return None
        since, _, versions = line[len(key) + 1:].decode("utf-8").partition("\t")
        return int(since), versions

    def keys(self) -> list[tuple[str, str]]:
        """Every ``(domain, op_type)`` of the table."""
        keys = (key.decode("utf-8").partition("\t") for key in self._lines)
        return [(domain, op_type) for domain, _, op_type in keys]


class AttrSpec(NamedTuple):
    """One attribute: its ONNX attribute type name, whether required, default (a NamedTuple: immutable, and
    ~0.07 ms to define where a frozen dataclass took ~0.45 of ``import litert``)."""

    type: str
    required: bool = False
    default: Any = None


class OpSchema(Record):
    """One version of one operator (``replace`` makes a variant: see :mod:`.contrib`)."""

    FIELDS = ("domain", "op_type", "since", "attrs", "inputs", "outputs", "min_inputs", "max_inputs", "min_outputs",
              "max_outputs", "deprecated", "has_function")

    def __init__(self, domain: str, op_type: str, since: int, attrs: dict[str, AttrSpec] | None = None,
                 inputs: list[tuple[str, str]] | None = None, outputs: list[tuple[str, str]] | None = None,
                 min_inputs: int = 0, max_inputs: int = 2**31 - 1, min_outputs: int = 1,
                 max_outputs: int = 2**31 - 1, deprecated: bool = False, has_function: bool = False) -> None:
        self.domain = domain
        self.op_type = op_type
        self.since = since
        self.attrs: dict[str, AttrSpec] = {} if attrs is None else attrs
        self.inputs: list[tuple[str, str]] = [] if inputs is None else inputs
        self.outputs: list[tuple[str, str]] = [] if outputs is None else outputs
        self.min_inputs = min_inputs
        self.max_inputs = max_inputs
        self.min_outputs = min_outputs
        self.max_outputs = max_outputs
        self.deprecated = deprecated
        self.has_function = has_function

    def defaults(self) -> dict[str, Any]:
        return {n: a.default for n, a in self.attrs.items() if a.default is not None}


def _decode_default(value: Any) -> Any:
    if isinstance(value, dict) and "tensor" in value:
        from ..ir.dtypes import DType

        return np.array(value["tensor"], dtype=DType(value["dtype"]).numpy).reshape(value["dims"])
    return value


def _from_json(domain: str, op_type: str, raw: dict[str, Any]) -> OpSchema:
    return OpSchema(
        domain=domain,
        op_type=op_type,
        since=raw["since"],
        attrs={n: AttrSpec(a["type"], a["required"], _decode_default(a["default"])) for n, a in raw["attrs"].items()},
        inputs=[tuple(p) for p in raw["inputs"]],
        outputs=[tuple(p) for p in raw["outputs"]],
        min_inputs=raw["min_inputs"],
        max_inputs=raw["max_inputs"],
        min_outputs=raw["min_outputs"],
        max_outputs=raw["max_outputs"],
        deprecated=raw["deprecated"],
        has_function=raw["function"],
    )


class SchemaRegistry:
    """``(domain, op_type) -> [OpSchema by ascending since version]``.

    An operator's line of ``onnx_ops.tsv`` becomes :class:`OpSchema` objects the first time it is
    asked for: building every version of every operator took ~5 ms of a process's first load (2-vCPU
    Zen 4), and a model uses a few dozen operators.
    """

    def __init__(self) -> None:
        self._ops: dict[tuple[str, str], list[OpSchema]] = {}
        #: the table's operators, built into ``_ops`` on first use (kept, so a reader racing a builder in another
        #: thread still finds the operator)
        self._table = Table(_TABLE.read_bytes())
        self.onnx_version = self._table.onnx_version
        from .contrib import register_contrib
        from .contrib_quant import register_quant_contrib

        register_contrib(self)
        register_quant_contrib(self)

    @staticmethod
    def _key(domain: str, op_type: str) -> tuple[str, str]:
        return ("" if domain in ONNX_DOMAINS else domain, op_type)

    def _built(self, key: tuple[str, str]) -> list[OpSchema] | None:
        versions = self._ops.get(key)
        if versions is None:
            row = self._table.row(*key)
            if row is not None:
                versions = self._ops.setdefault(key, [_from_json(key[0], key[1], v) for v in json.loads(row[1])])
        return versions

    def register(self, schema: OpSchema) -> None:
        """Add a (plugin-provided) schema version."""
        key = self._key(schema.domain, schema.op_type)
        versions = self._built(key)
        if versions is None:
            versions = self._ops[key] = []
        versions[:] = sorted([v for v in versions if v.since != schema.since] + [schema], key=lambda s: s.since)

    def has(self, domain: str, op_type: str) -> bool:
        key = self._key(domain, op_type)
        return key in self._ops or key in self._table

    def versions(self, domain: str, op_type: str) -> list[OpSchema]:
        return self._built(self._key(domain, op_type)) or []

    def get(self, domain: str, op_type: str, opset: int | None = None) -> OpSchema:
        """The schema in force at ``opset`` (the latest when ``opset`` is None)."""
        versions = self.versions(domain, op_type)
        if not versions:
            raise UnsupportedOperatorError(
                f"unknown operator {domain + '::' if domain else ''}{op_type}", op_type=op_type, domain=domain
            )
        if opset is None:
            return versions[-1]
        eligible = [v for v in versions if v.since <= opset]
        if not eligible:
            raise UnsupportedOperatorError(
                f"operator {op_type} does not exist at opset {opset} (first version {versions[0].since})",
                op_type=op_type,
                domain=domain,
            )
        return eligible[-1]

    def latest(self, domain: str, op_type: str) -> OpSchema:
        return self.get(domain, op_type)

    def ops(self) -> list[tuple[str, str]]:
        return sorted({*self._ops, *self._table.keys()})

    def latest_opset(self, domain: str = "") -> int:
        """The newest operator-set version of ``domain`` the table or a plugin's schema knows (what frontends give
        their models)."""
        built = (s.since for (d, _), versions in self._ops.items() if d == domain for s in versions)
        tabled = [self._table.newest[domain]] if domain in self._table.newest else []
        return max(itertools.chain(built, tabled))

    def complete_attrs(self, node: Node, schema: OpSchema | None = None) -> None:
        """Fill defaults into ``node.attrs`` and check required and unknown ones."""
        schema = schema or self.latest(node.domain, node.op_type)
        for name, spec in schema.attrs.items():
            if name not in node.attrs:
                if spec.required:
                    raise InvalidModelError(f"node {node.name!r} ({node.op_type}): missing required attribute {name!r}")
                if spec.default is not None:
                    node.attrs[name] = _own_copy(spec.default)
        n_in = len(node.inputs)
        if not (schema.min_inputs <= n_in <= schema.max_inputs):
            raise InvalidModelError(
                f"node {node.name!r} ({node.op_type}): {n_in} inputs, expected {schema.min_inputs}..{schema.max_inputs}"
            )


def _own_copy(default: Any) -> Any:
    """A node's own copy of an attribute default, so that a kernel editing its list cannot edit the registry.

    Defaults are scalars, strings, lists of them and tensors (read from ``onnx_ops.tsv``); anything else is
    deep-copied (``copy`` imported only then: ~0.2 ms of a process's first load)."""
    if isinstance(default, (int, float, str, bytes)):
        return default
    if isinstance(default, list) and all(isinstance(item, (int, float, str, bytes)) for item in default):
        return list(default)
    if isinstance(default, np.ndarray) and default.dtype != object:
        return default.copy()
    import copy

    return copy.deepcopy(default)


@lru_cache(maxsize=1)
def schemas() -> SchemaRegistry:
    """The process-wide registry (plugins' schemas are added on plugin load)."""
    return SchemaRegistry()


InferFn = Callable[..., Any]
