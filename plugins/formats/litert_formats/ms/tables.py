"""Generic reading and building of schema tables through the flatc-generated classes.

Primitive tables have some 220 shapes; rather than one hand-written accessor
per field, :func:`read_table` turns any table into a ``dict`` (field name ->
Python value) and :func:`build_table` writes one from a ``dict``, both
walking :data:`.schema.layout.TABLES` and calling the generated methods
(``KernelSize``/``KernelSizeAsNumpy``, ``Conv2DFusionAddKernelSize``...).
Only read tables of a buffer :func:`.verify.verify` has accepted.
"""
from __future__ import annotations

import importlib
import keyword
from functools import lru_cache

import flatbuffers
import numpy as np

from .schema.layout import TABLES, UNIONS

_PACKAGE = "litert_formats.ms.schema"
_NUMPY = {"?": np.bool_, "b": np.int8, "B": np.uint8, "h": np.int16, "H": np.uint16, "i": np.int32,
          "I": np.uint32, "q": np.int64, "Q": np.uint64, "f": np.float32, "d": np.float64}


def camel(field: str) -> str:
    """flatc's Python method name of a field (``pad_list`` -> ``PadList``, ``dstDtype`` -> ``DstDtype``,
    ``global`` -> ``Global_``: flatc escapes fields named like Python keywords)."""
    name = "".join(part[:1].upper() + part[1:] for part in field.split("_"))
    return name + "_" if keyword.iskeyword(field) else name


@lru_cache(maxsize=None)
def module(table: str, package: str = _PACKAGE):
    """The flatc-generated module of ``table`` (in the ``.ms`` schema package unless told otherwise)."""
    return importlib.import_module(f"{package}.{table}")


def wrap(table: str, buf, pos: int):
    """The generated reader object of ``table`` at ``pos``."""
    obj = getattr(module(table), table)()
    obj.Init(buf, pos)
    return obj


def union_member(union: str, tag: int) -> str | None:
    return union_member_of(UNIONS, union, tag)


def union_member_of(unions: dict, union: str, tag: int) -> str | None:
    """The member table of ``union`` for ``tag`` in a schema's ``UNIONS``; None for NONE or an unknown tag."""
    members = unions[union]
    return members[tag] if 0 < tag < len(members) else None


def read_table(obj, table: str, layout_tables: dict = TABLES) -> dict:
    """Every non-deprecated field of ``obj`` (a generated reader object) that the buffer holds or defaults
    (``layout_tables``: the ``TABLES`` of the schema ``obj`` belongs to, the ``.ms`` one by default)."""
    out: dict = {}
    for field, kind, deprecated in layout_tables[table]:
        if deprecated or kind[0] == "union":
            continue
        name = camel(field)
        if kind[0] == "scalar":
            out[field] = getattr(obj, name)()
        elif kind[0] == "string":
            raw = getattr(obj, name)()
            out[field] = raw.decode("utf-8", errors="replace") if raw is not None else None
        elif kind[0] == "table":
            sub = getattr(obj, name)()
            out[field] = read_table(sub, kind[1], layout_tables) if sub is not None else None
        elif kind[0] == "vector":
            if getattr(obj, name + "IsNone")():
                out[field] = None
            elif kind[1][0] == "scalar":
                out[field] = getattr(obj, name + "AsNumpy")()
            elif kind[1][0] == "table":
                n = getattr(obj, name + "Length")()
                out[field] = [read_table(getattr(obj, name)(j), kind[1][1], layout_tables) for j in range(n)]
            else:  # vector of strings
                n = getattr(obj, name + "Length")()
                out[field] = [getattr(obj, name)(j).decode("utf-8", errors="replace") for j in range(n)]
    return out


def build_table(builder: flatbuffers.Builder, table: str, values: dict) -> int:
    """Write ``table`` with the fields in ``values`` (others stay absent: the schema default); its offset."""
    mod = module(table)
    known = {field: kind for field, kind, _ in TABLES[table]}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise KeyError(f"{table} has no field(s) {unknown}")
    offsets = {}
    for field, value in values.items():  # children first: FlatBuffers forbids nesting
        kind = known[field]
        if value is None or kind[0] == "scalar":
            continue
        if kind[0] == "string":
            offsets[field] = builder.CreateString(value)
        elif kind[0] == "table":
            offsets[field] = build_table(builder, kind[1], value)
        elif kind[0] == "vector" and kind[1][0] == "scalar":
            offsets[field] = builder.CreateNumpyVector(np.ascontiguousarray(value, dtype=_NUMPY[kind[1][1]]).ravel())
        elif kind[0] == "vector":
            items = [build_table(builder, kind[1][1], v) if kind[1][0] == "table" else builder.CreateString(v) for v in value]
            getattr(mod, f"{table}Start{camel(field)}Vector")(builder, len(items))
            for item in reversed(items):
                builder.PrependUOffsetTRelative(item)
            offsets[field] = builder.EndVector()
        else:
            raise TypeError(f"{table}.{field}: cannot build a {kind[0]} field generically")
    getattr(mod, f"{table}Start")(builder)
    for field, value in values.items():
        if value is None:
            continue
        add = getattr(mod, f"{table}Add{camel(field)}")
        if known[field][0] == "scalar":
            add(builder, _scalar(value, known[field][1]))
        else:
            add(builder, offsets[field])
    return getattr(mod, f"{table}End")(builder)


def _scalar(value, fmt: str):
    if fmt == "?":
        return bool(value)
    if fmt in "fd":
        return float(value)
    return int(value)
