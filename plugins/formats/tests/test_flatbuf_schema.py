"""The generated schema modules, and the generic FlatBuffers reader, builder and verifier that walk them."""
from __future__ import annotations

import ast
import importlib.util
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

import flatbuffers
import pytest

from litert_formats.flatbuf.build import Ref, build_table
from litert_formats.flatbuf.read import read_table, root_position
from litert_formats.flatbuf.schema import Schema
from litert_formats.flatbuf.verify import VerifyError, verify
from litert_formats.ms.schema import SCHEMA as MS
from litert_formats.tflite.schema import SCHEMA as TFLITE

ROOT = Path(__file__).resolve().parents[3]
FORMATS = ROOT / "plugins" / "formats" / "litert_formats"
DATA = ROOT / "tests" / "data"
GENERATORS = [("ms", "tools/mslite/gen_schema.py", MS), ("tflite", "tools/tflite/gen_schema.py", TFLITE)]


@pytest.mark.parametrize(("fmt", "generator"), [g[:2] for g in GENERATORS], ids=[g[0] for g in GENERATORS])
def test_generated_module_is_what_the_fbs_gives(fmt, generator):
    """Regenerating from the committed .fbs gives the committed module byte for byte."""
    result = subprocess.run([sys.executable, str(ROOT / generator), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (FORMATS / fmt / f"{fmt}.fbs").read_text()
    assert f"root_type {({'ms': 'MetaGraph', 'tflite': 'Model'})[fmt]};" in text


def test_ms_union_tags_and_enums():
    # the tags converter_lite 2.0.0 writes for the primitives it emits for CNNs (read from its files)
    assert MS.unions["PrimitiveType"].index("Conv2DFusion") == 35
    assert MS.unions["PrimitiveType"].index("MatMulFusion") == 89
    assert MS.file_identifier == b"MSL2" and MS.root == "MetaGraph"
    assert MS.enums["ReduceMode"]["ReduceL2"] == 8 and MS.enums["Format"]["NC8HW8"] == 18
    assert MS.enums["ResizeMethod"]["UNKNOWN"] == -1
    assert MS.enum_names("ActivationType")[3] == "RELU6"


def test_defaults_come_from_the_fbs():
    quant = MS.fields["QuantParam"]
    assert (quant["scale"].default, quant["narrowRange"].default, quant["numBits"].default) == (1.0, True, 8)
    assert MS.fields["CNode"]["deviceType"].default == -1 and MS.fields["CNode"]["nodeType"].kind == "deprecated"
    assert TFLITE.fields["OperatorCode"]["version"].default == 1


def _fixtures() -> list[tuple[Schema, Path]]:
    return [(MS, p) for p in sorted((DATA / "ms").glob("*.ms"))] + \
        [(TFLITE, p) for p in sorted((DATA / "tflite").glob("*.tflite"))]


@pytest.mark.parametrize(("schema", "path"), _fixtures(), ids=[p.name for _, p in _fixtures()])
def test_fixtures_verify_and_read(schema, path):
    data = path.read_bytes()
    verifier = verify(data, schema)
    assert not verifier.unknown_union_members and len(verifier.seen) > 5
    root = read_table(schema, data, root_position(data), schema.root)
    if schema is MS:
        assert root["allTensors"] and root["outputIndex"].size
        assert root["nodes"] and all(n["primitive"]["value"] is not None for n in root["nodes"])
    else:
        assert root["version"] == 3 and root["subgraphs"][0]["operators"]


def test_verifier_rejects_a_bad_vtable():
    data = bytearray((DATA / "ms" / "lstm.ms").read_bytes())
    root = int.from_bytes(data[0:4], "little")
    data[root:root + 4] = (-(len(data) * 2)).to_bytes(4, "little", signed=True)  # vtable past the end
    with pytest.raises(VerifyError, match="vtable"):
        verify(bytes(data), MS)


# A schema with every field kind, to round-trip the builder and the reader.
_TOY = Schema("Root", b"TOY0", {
    "Leaf": "x:i=7 label:string",
    "Root": "flag:?=True old:- ratio:f=0.5 big:q name:string leaf:Leaf values:[h] words:[string] leaves:[Leaf] "
            "member_type:B member:Member",
}, {"Member": ("NONE", "Leaf")}, {})


def _toy(values: dict) -> bytes:
    builder = flatbuffers.Builder(64)
    builder.Finish(build_table(_TOY, builder, "Root", values), file_identifier=_TOY.file_identifier)
    return bytes(builder.Output())


def test_verifier_rejects_a_string_past_the_end():
    data = bytearray(_toy({"name": "toy", "words": ["p"]}))
    verify(bytes(data), _TOY)
    pos = bytes(data).index(b"\x03\x00\x00\x00toy")
    data[pos:pos + 4] = len(data).to_bytes(4, "little")
    with pytest.raises(VerifyError, match=r"Root\.name \(string of"):
        verify(bytes(data), _TOY)


def test_builder_and_reader_round_trip_every_kind():
    data = _toy({"flag": False, "ratio": 2.0, "big": -(2**40), "name": "toy", "leaf": {"x": 3, "label": "a"},
                 "values": [1, -2, 3], "words": ["p", "qr"], "leaves": [{"x": 1}, {"label": "b"}],
                 "member_type": 1, "member": {"x": 9}})
    verify(data, _TOY)
    got = read_table(_TOY, data, root_position(data), "Root")
    assert got.pop("values").tolist() == [1, -2, 3]
    assert got == {"flag": False, "ratio": 2.0, "big": -(2**40), "name": "toy", "leaf": {"x": 3, "label": "a"},
                   "words": ["p", "qr"], "leaves": [{"x": 1, "label": None}, {"x": 7, "label": "b"}],
                   "member_type": 1, "member": {"x": 9, "label": None}}


def test_absent_fields_read_as_defaults_and_defaults_are_not_written():
    empty, explicit = _toy({}), _toy({"flag": True, "ratio": 0.5, "big": 0})
    assert empty == explicit  # a value equal to its default is left out, as flatc's builders do
    got = read_table(_TOY, empty, root_position(empty), "Root")
    assert got == {"flag": True, "ratio": 0.5, "big": 0, "name": None, "leaf": None, "values": None, "words": None,
                   "leaves": None, "member_type": 0, "member": None}


def test_builder_takes_prebuilt_offsets_and_refuses_unknown_fields():
    builder = flatbuffers.Builder(64)
    leaf = build_table(_TOY, builder, "Leaf", {"x": 5})
    root = build_table(_TOY, builder, "Root", {"leaf": leaf, "leaves": [leaf, {"x": 6}]})
    assert isinstance(root, Ref)
    builder.Finish(root, file_identifier=b"TOY0")
    data = bytes(builder.Output())
    got = read_table(_TOY, data, root_position(data), "Root")
    assert got["leaf"]["x"] == 5 and [leaf["x"] for leaf in got["leaves"]] == [5, 6]
    with pytest.raises(KeyError, match="no field"):
        build_table(_TOY, flatbuffers.Builder(64), "Root", {"old": 1})


def test_union_member_past_the_schema_is_reported_not_read():
    data = bytearray(_toy({"member_type": 1, "member": {"x": 9}}))
    tag = data.index(bytes([1]), 8)  # the only byte 1 before the leaf: the union tag
    assert read_table(_TOY, bytes(data), root_position(data), "Root")["member_type"] == 1
    data[tag] = 9
    verifier = verify(bytes(data), _TOY)
    assert [t for _, t in verifier.unknown_union_members] == [9]
    assert read_table(_TOY, bytes(data), root_position(data), "Root")["member"] is None


# -- the slot tables against flatc's own generated Python (flatc is a development tool: live)


def _camel(field: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in field.split("_"))
    return name + "_" if keyword.iskeyword(field) else name


@pytest.mark.live
@pytest.mark.parametrize("fmt,schema", [(g[0], g[2]) for g in GENERATORS], ids=[g[0] for g in GENERATORS])
def test_slot_tables_match_flatc(tmp_path, fmt, schema):
    """Slots, scalar defaults, slot counts, union tags and enums agree with ``flatc --python``'s code."""
    if shutil.which("flatc") is None:
        pytest.skip("flatc is not installed (Debian: flatbuffers-compiler)")
    subprocess.run(["flatc", "--python", "-o", str(tmp_path), str(FORMATS / fmt / f"{fmt}.fbs")], check=True)
    package = tmp_path / "litert_formats" / fmt / "schema"

    def source(name: str) -> str:
        return (package / f"{name}.py").read_text()

    checked = 0
    for table, fields in schema.tables.items():
        src = source(table)
        assert int(re.search(r"builder\.StartObject\((\d+)\)", src).group(1)) == len(fields), table
        for f in fields:
            if f.kind == "deprecated":
                continue
            is_tag = f.name.endswith("_type") and f.slot + 1 < len(fields) and fields[f.slot + 1].kind == "union"
            method = _camel(f.name[:-5]) + "Type" if is_tag else _camel(f.name)
            accessor = rf"def {re.escape(method)}\(self[^)]*\):\n\s+o = [^\n]*Offset\((\d+)\)\)?\n"
            m = re.search(accessor + r"(.*?)(?=\n    def |\ndef |\Z)", src, re.S)
            assert m and int(m.group(1)) == f.voffset, f"{table}.{f.name}"
            if f.kind == "scalar":
                default = ast.literal_eval(re.findall(r"^        return (.+)$", m.group(2), re.M)[-1])
                assert default == f.default and type(default) is type(f.default), f"{table}.{f.name}"
            checked += 1
    for name, members in list(schema.unions.items()) + list(schema.enums.items()):
        spec = importlib.util.spec_from_file_location(name, package / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        values = {k: v for k, v in vars(getattr(module, name)).items() if not k.startswith("_")}
        assert values == (members if isinstance(members, dict) else {m: t for t, m in enumerate(members)}), name
    assert checked > 200
