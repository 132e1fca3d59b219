"""Regenerate the Python of the .ms schema (development time only).

    python tools/mslite/gen_schema.py [--flatc flatc]

Reads ``plugins/formats/litert_formats/ms/schema/ms.fbs`` and writes, next to
it:

* the reader/builder classes ``flatc --python`` generates (one module per
  table, enum and union; Debian's ``flatbuffers-compiler`` 2.0.8 was used);
* ``layout.py``: every table's fields in id order with their kind, the union
  members in tag order and the enums' storage types.  The bounds-checking
  verifier (``litert_formats.ms.verify``) and the generic primitive
  attribute reader/builder (``litert_formats.ms.prims``) walk this table.

The ``.fbs`` subset MindSpore Lite's schema uses is small (tables, enums,
one union, no structs, no explicit ids), so a few regular expressions parse
it; a test checks the ids against the vtable slots flatc generated.
"""
from __future__ import annotations

import argparse
import pprint
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "plugins" / "formats" / "litert_formats" / "ms" / "schema"
FBS = SCHEMA_DIR / "ms.fbs"
KEEP = {"__init__.py", "README.md", "ms.fbs", "layout.py"}

SCALARS = {  # fbs type -> struct format (little endian)
    "bool": "?", "byte": "b", "ubyte": "B", "int8": "b", "uint8": "B", "short": "h", "ushort": "H",
    "int16": "h", "uint16": "H", "int": "i", "uint": "I", "int32": "i", "uint32": "I", "long": "q",
    "ulong": "Q", "int64": "q", "uint64": "Q", "float": "f", "float32": "f", "double": "d", "float64": "d",
}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def parse(text: str) -> dict:
    text = _strip_comments(text)
    enums = {m.group(1): SCALARS[m.group(2)] for m in re.finditer(r"\benum\s+(\w+)\s*:\s*(\w+)\s*\{", text)}
    unions = {}
    for m in re.finditer(r"\bunion\s+(\w+)\s*\{(.*?)\}", text, re.S):
        unions[m.group(1)] = ["NONE"] + [n.strip() for n in m.group(2).split(",") if n.strip()]
    tables = {}
    for m in re.finditer(r"\btable\s+(\w+)\s*\{(.*?)\}", text, re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in m.group(2).split(";"))):
            fm = re.match(r"(\w+)\s*:\s*(\[?\s*\w+\s*\]?)\s*(?:=\s*([^(]+?))?\s*(\(([^)]*)\))?\s*$", decl)
            if not fm:
                raise SystemExit(f"cannot parse field {decl!r} of table {m.group(1)}")
            name, ftype, attrs = fm.group(1), fm.group(2).replace(" ", ""), fm.group(5) or ""
            if "id:" in attrs:
                raise SystemExit(f"explicit ids are not supported ({m.group(1)}.{name})")
            fields.append((name, ftype, "deprecated" in attrs))
        tables[m.group(1)] = fields
    return {"enums": enums, "unions": unions, "tables": tables}


def kind_of(ftype: str, schema: dict) -> tuple:
    """A field's kind: ("scalar", fmt) | ("string",) | ("table", T) | ("union", U) | ("vector", elem-kind)."""
    if ftype.startswith("["):
        return ("vector", kind_of(ftype[1:-1], schema))
    if ftype in SCALARS:
        return ("scalar", SCALARS[ftype])
    if ftype in schema["enums"]:
        return ("scalar", schema["enums"][ftype])
    if ftype == "string":
        return ("string",)
    if ftype in schema["unions"]:
        return ("union", ftype)
    if ftype in schema["tables"]:
        return ("table", ftype)
    raise SystemExit(f"unknown type {ftype}")


def layout(schema: dict) -> dict:
    """table -> tuple of (field name, kind, deprecated) in slot order; a union field takes two slots."""
    tables = {}
    for name, fields in schema["tables"].items():
        slots = []
        for fname, ftype, deprecated in fields:
            kind = kind_of(ftype, schema)
            if kind[0] == "union":
                slots.append((fname + "_type", ("scalar", "B"), deprecated))
            slots.append((fname, kind, deprecated))
        tables[name] = tuple(slots)
    return tables


def write_layout(schema: dict, path: Path) -> None:
    body = [
        '"""Field layout of the .ms schema, generated from ms.fbs by tools/mslite/gen_schema.py: do not edit.',
        "",
        "TABLES[name] lists (field, kind, deprecated) in vtable-slot order (slot i is field id i); a kind is",
        '("scalar", struct format) | ("string",) | ("table", name) | ("union", name) | ("vector", kind).',
        "A union field takes two slots: <field>_type (ubyte tag) then <field>.",
        'UNIONS[name] lists the members by tag ("NONE" is tag 0).',
        '"""',
        "",
        f"ROOT = {'MetaGraph'!r}",
        f"FILE_IDENTIFIER = {b'MSL2'!r}",
        "",
        "TABLES = " + pprint.pformat(layout(schema), width=120, sort_dicts=False),
        "",
        "UNIONS = " + pprint.pformat(schema["unions"], width=120, compact=True),
        "",
    ]
    path.write_text("\n".join(body))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flatc", default="flatc")
    args = parser.parse_args()
    schema = parse(FBS.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.flatc, "--python", "-o", tmp, str(FBS)], check=True, capture_output=True)
        generated = Path(tmp) / "litert_formats" / "ms" / "schema"
        for old in SCHEMA_DIR.glob("*.py"):
            if old.name not in KEEP:
                old.unlink()
        for new in sorted(generated.glob("*.py")):
            if new.name not in KEEP:
                shutil.copy(new, SCHEMA_DIR / new.name)
    write_layout(schema, SCHEMA_DIR / "layout.py")
    print(f"{len(schema['tables'])} tables, {len(schema['unions']['PrimitiveType']) - 1} primitives -> {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
