"""Regenerate the Python of litert's TFLite schema subset (development time only).

    python tools/tflite/gen_schema.py [--flatc flatc]

Reads ``plugins/formats/litert_formats/tflite/schema/tflite.fbs`` and writes,
next to it, the classes ``flatc --python`` generates (Debian's
``flatbuffers-compiler`` 2.0.8 was used) and ``layout.py``: the field layout
the bounds-checking verifier walks (same form as the ``.ms`` one, parsed by
the same code: ``tools/mslite/gen_schema.py``) plus the members of the enums
the reader names (operators, tensor types, activations...).
"""
from __future__ import annotations

import argparse
import pprint
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "mslite"))
from gen_schema import _strip_comments, layout, parse  # noqa: E402

SCHEMA_DIR = ROOT / "plugins" / "formats" / "litert_formats" / "tflite" / "schema"
FBS = SCHEMA_DIR / "tflite.fbs"
KEEP = {"__init__.py", "tflite.fbs", "layout.py"}
#: enums whose members the reader names; value -> member name
NAMED_ENUMS = ("BuiltinOperator", "TensorType", "ActivationFunctionType", "Padding", "MirrorPadMode",
               "FullyConnectedOptionsWeightsFormat", "LSTMKernelType")


def enum_members(text: str) -> dict[str, dict[int, str]]:
    """Each enum's members (``A = 3,`` or implicit: one more than the previous)."""
    out = {}
    for m in re.finditer(r"\benum\s+(\w+)\s*:\s*\w+\s*\{(.*?)\}", _strip_comments(text), re.S):
        members, nxt = {}, 0
        for item in filter(None, (s.strip() for s in m.group(2).split(","))):
            name, _, value = (p.strip() for p in item.partition("="))
            nxt = int(value, 0) if value else nxt
            members[nxt] = name
            nxt += 1
        out[m.group(1)] = members
    return {name: out[name] for name in NAMED_ENUMS}


def write_layout(text: str, path: Path) -> None:
    schema = parse(text)
    body = [
        '"""Field layout of litert\'s TFLite schema subset, generated from tflite.fbs by tools/tflite/gen_schema.py:',
        "do not edit.",
        "",
        "TABLES[name] lists (field, kind, deprecated) in vtable-slot order (slot i is field id i); a kind is",
        '("scalar", struct format) | ("string",) | ("table", name) | ("union", name) | ("vector", kind).',
        "A union field takes two slots: <field>_type (ubyte tag) then <field>.",
        'UNIONS[name] lists the members by tag ("NONE" is tag 0); ENUMS[name] maps value -> member name.',
        '"""',
        "",
        f"ROOT = {'Model'!r}",
        f"FILE_IDENTIFIER = {b'TFL3'!r}",
        "",
        "TABLES = " + pprint.pformat(layout(schema), width=120, sort_dicts=False),
        "",
        "UNIONS = " + pprint.pformat(schema["unions"], width=120, compact=True),
        "",
        "ENUMS = " + pprint.pformat(enum_members(text), width=120, compact=True),
        "",
    ]
    path.write_text("\n".join(body))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flatc", default="flatc")
    args = parser.parse_args()
    text = FBS.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.flatc, "--python", "-o", tmp, str(FBS)], check=True, capture_output=True)
        generated = Path(tmp) / "litert_formats" / "tflite" / "schema"
        for old in SCHEMA_DIR.glob("*.py"):
            if old.name not in KEEP:
                old.unlink()
        for new in sorted(generated.glob("*.py")):
            if new.name not in KEEP:
                shutil.copy(new, SCHEMA_DIR / new.name)
    write_layout(text, SCHEMA_DIR / "layout.py")
    print(f"{len(parse(text)['tables'])} tables -> {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
