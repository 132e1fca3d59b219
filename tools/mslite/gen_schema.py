"""Generate a format's schema module (slot tables) from its ``.fbs`` (development time only).

    python tools/mslite/gen_schema.py [--check]

Reads ``plugins/formats/litert_formats/ms/ms.fbs`` and writes ``ms/schema.py``:
one :class:`litert_formats.flatbuf.schema.Schema` holding every table's fields
in id (vtable-slot) order with their kind and default, the union members in
tag order and every enum's member -> value map.  The generic reader, builder
and verifier (:mod:`litert_formats.flatbuf`) walk it; ``tools/tflite/gen_schema.py``
does the same for ``tflite.fbs`` with this code.  ``--check`` fails when the
committed module differs from what the ``.fbs`` gives (a test runs it).

The ``.fbs`` subset both schemas use is small (tables, enums, unions, no
structs, no explicit ids), so a few regular expressions parse it and
reject what they do not handle.
"""
from __future__ import annotations

import argparse
import pprint
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ROOT / "plugins" / "formats" / "litert_formats"

SCALARS = {  # fbs type -> struct format (little endian)
    "bool": "?", "byte": "b", "ubyte": "B", "int8": "b", "uint8": "B", "short": "h", "ushort": "H",
    "int16": "h", "uint16": "H", "int": "i", "uint": "I", "int32": "i", "uint32": "I", "long": "q",
    "ulong": "Q", "int64": "q", "uint64": "Q", "float": "f", "float32": "f", "double": "d", "float64": "d",
}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def parse(text: str) -> dict:
    """The schema's enums (storage format, members), unions, tables (raw fields), root and identifier."""
    text = _strip_comments(text)
    if re.search(r"\bstruct\s+\w+\s*\{", text):
        raise SystemExit("structs are not supported")
    enums = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*:\s*(\w+)\s*(?:\([^)]*\))?\s*\{(.*?)\}", text, re.S):
        members, nxt = {}, 0
        for item in filter(None, (s.strip() for s in m.group(3).split(","))):
            name, _, value = (p.strip() for p in item.partition("="))
            nxt = int(value, 0) if value else nxt
            members[name] = nxt
            nxt += 1
        enums[m.group(1)] = (SCALARS[m.group(2)], members)
    unions = {m.group(1): ("NONE", *(n.strip() for n in m.group(2).split(",") if n.strip()))
              for m in re.finditer(r"\bunion\s+(\w+)\s*\{(.*?)\}", text, re.S)}
    tables = {}
    for m in re.finditer(r"\btable\s+(\w+)\s*\{(.*?)\}", text, re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in m.group(2).split(";"))):
            fm = re.match(r"(\w+)\s*:\s*(\[?\s*\w+\s*\]?)\s*(?:=\s*([^(]+?))?\s*(\(([^)]*)\))?\s*$", decl)
            if not fm:
                raise SystemExit(f"cannot parse field {decl!r} of table {m.group(1)}")
            attrs = fm.group(5) or ""
            if "id:" in attrs:
                raise SystemExit(f"explicit ids are not supported ({m.group(1)}.{fm.group(1)})")
            fields.append((fm.group(1), fm.group(2).replace(" ", ""), fm.group(3), "deprecated" in attrs))
        tables[m.group(1)] = fields
    root = re.search(r"\broot_type\s+(\w+)\s*;", text).group(1)
    ident = re.search(r'\bfile_identifier\s+"(\w{4})"\s*;', text).group(1).encode()
    return {"enums": enums, "unions": unions, "tables": tables, "root": root, "file_identifier": ident}


def _element(ftype: str, schema: dict) -> tuple[str, str | None]:
    """(kind, arg) of one value of type ``ftype``."""
    if ftype in SCALARS:
        return "scalar", SCALARS[ftype]
    if ftype in schema["enums"]:
        return "scalar", schema["enums"][ftype][0]
    if ftype == "string":
        return "string", None
    if ftype in schema["unions"]:
        return "union", ftype
    if ftype in schema["tables"]:
        return "table", ftype
    raise SystemExit(f"unknown type {ftype}")


def _default(raw: str | None, ftype: str, fmt: str, schema: dict):
    if raw is None:
        return 0
    raw = raw.strip()
    if ftype in schema["enums"] and raw in schema["enums"][ftype][1]:
        return schema["enums"][ftype][1][raw]
    if fmt == "?":
        return raw == "true"
    return float(raw) if fmt in "fd" else int(raw, 0)


def slot_tables(schema: dict) -> dict[str, tuple]:
    """table -> fields in slot order, as :class:`litert_formats.flatbuf.schema.Schema` takes them."""
    out = {}
    for name, fields in schema["tables"].items():
        slots = []
        for fname, ftype, raw_default, deprecated in fields:
            vector = ftype.startswith("[")
            kind, arg = _element(ftype.strip("[]"), schema)
            if kind == "union":
                if vector:
                    raise SystemExit(f"vectors of unions are not supported ({name}.{fname})")
                slots.append((fname + "_type", "deprecated") if deprecated else (fname + "_type", "scalar", "B"))
            if deprecated:
                slots.append((fname, "deprecated"))
            elif vector:
                slots.append((fname, kind + "s", arg) if arg else (fname, kind + "s"))
            elif kind == "scalar":
                default = _default(raw_default, ftype, arg, schema)
                slots.append((fname, kind, arg, default) if default else (fname, kind, arg))
            else:
                slots.append((fname, kind, arg) if arg else (fname, kind))
        out[name] = tuple(slots)
    return out


def _spec(field: tuple) -> str:
    """A slot as the table string of :mod:`litert_formats.flatbuf.schema` writes it: ``name:type[=default]``."""
    name, kind, arg, default = (*field, None, None)[:4]
    if kind == "deprecated":
        return f"{name}:-"
    element = "string" if kind.startswith("string") else arg
    text = f"[{element}]" if kind.endswith("s") else element
    return f"{name}:{text}" + (f"={default!r}" if default else "")


def _wrapped(name: str, members) -> str:
    """One union entry, its members wrapped at 120 columns (a table or an enum stays one line: one record)."""
    prefix = f"    {name!r}: "
    text = pprint.pformat(members, width=120 - len(prefix), compact=True, sort_dicts=False)
    return prefix + text.replace("\n", "\n" + " " * len(prefix)) + ","


def render(fbs: Path, generator: str) -> str:
    """The text of the generated module for the schema in ``fbs``."""
    schema = parse(fbs.read_text())
    members = {member for union in schema["unions"].values() for member in union}  # without fields: no entry
    lines = [
        f'"""The {fbs.name} schema (enums, unions, then tables as slots), generated by {generator}: do not edit.',
        "",
        "Field kinds and the form of each entry: :mod:`litert_formats.flatbuf.schema`.",
        '"""',
        "# ruff: noqa: E501",
        "from litert_formats.flatbuf.schema import Schema",
        "",
        "ENUMS = {",
        *(f"    {name!r}: {members!r}," for name, (_, members) in schema["enums"].items()),
        "}",
        "UNIONS = {",
        *(_wrapped(name, members) for name, members in schema["unions"].items()),
        "}",
        "TABLES = {",
        *(f"    {name!r}: {' '.join(_spec(field) for field in fields)!r}," for name, fields in slot_tables(schema).items()
          if fields or name not in members),
        "}",
        f"SCHEMA = Schema({schema['root']!r}, {schema['file_identifier']!r}, TABLES, UNIONS, ENUMS)",
        "",
    ]
    return "\n".join(lines)


def run(fbs: Path, out: Path, generator: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the committed module is out of date")
    args = parser.parse_args(argv)
    text = render(fbs, generator)
    if args.check:
        if out.read_text() != text:
            print(f"{out} is out of date: run {generator}", file=sys.stderr)
            return 1
        return 0
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    print(f"{out}: {text.count(chr(10))} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(run(FORMATS / "ms" / "ms.fbs", FORMATS / "ms" / "schema.py", "tools/mslite/gen_schema.py"))
