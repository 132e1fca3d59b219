"""The .ms schema: the generated layout table agrees with flatc's generated code, and the verifier with the files."""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import ms_testlib as lib  # noqa: E402

from litert_formats.ms import tables  # noqa: E402
from litert_formats.ms.schema.layout import FILE_IDENTIFIER, TABLES, UNIONS  # noqa: E402
from litert_formats.ms.verify import VerifyError, verify  # noqa: E402

SCHEMA = Path(tables.__file__).parent / "schema"


def test_every_slot_matches_the_flatc_accessor():
    """Field i of each table is read by flatc's code at vtable offset 4 + 2 * i (ids, deprecated fields included)."""
    checked = 0
    for table, fields in TABLES.items():
        source = inspect.getsource(tables.module(table))
        for slot, (field, kind, deprecated) in enumerate(fields):
            if deprecated:
                continue
            method = tables.camel(field[:-len("_type")]) + "Type" if field.endswith("_type") and kind == ("scalar", "B") \
                and slot + 1 < len(fields) and fields[slot + 1][1][0] == "union" else tables.camel(field)
            match = re.search(rf"def {re.escape(method)}\(self[^)]*\):\n\s+o = [^\n]*Offset\((\d+)\)", source)
            assert match, f"{table}.{field}: no accessor {method}"
            assert int(match.group(1)) == 4 + 2 * slot, f"{table}.{field}"
            checked += 1
    assert checked > 450


def test_union_tags_match_the_generated_enum():
    enum = importlib.import_module("litert_formats.ms.schema.PrimitiveType").PrimitiveType
    for tag, name in enumerate(UNIONS["PrimitiveType"]):
        assert getattr(enum, name) == tag
    # the tags converter_lite 2.0.0 writes for the primitives it emits for CNNs (read from its files)
    assert UNIONS["PrimitiveType"].index("Conv2DFusion") == 35
    assert UNIONS["PrimitiveType"].index("MatMulFusion") == 89


def test_identifier_and_files_verify():
    assert FILE_IDENTIFIER == b"MSL2"
    for name in lib.fixture_names():
        data = (lib.DATA / f"{name}.ms").read_bytes()
        assert data[4:8] == FILE_IDENTIFIER
        verifier = verify(data)
        assert not verifier.unknown_union_members
        assert len(verifier.seen) > 5


def test_verifier_rejects_a_bad_vtable():
    data = bytearray((lib.DATA / "lstm.ms").read_bytes())
    root = int.from_bytes(data[0:4], "little")
    data[root:root + 4] = (-(len(data) * 2)).to_bytes(4, "little", signed=True)  # vtable past the end
    with pytest.raises(VerifyError, match="vtable"):
        verify(bytes(data))


def test_generated_code_is_committed_with_its_schema():
    assert (SCHEMA / "ms.fbs").is_file() and (SCHEMA / "README.md").is_file()
    text = (SCHEMA / "ms.fbs").read_text()
    assert 'file_identifier "MSL2";' in text and "root_type MetaGraph;" in text
    modules = {p.stem for p in SCHEMA.glob("*.py")} - {"__init__", "layout"}
    assert set(TABLES) <= modules
