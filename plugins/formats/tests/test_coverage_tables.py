"""The committed coverage tables in docs/ are what tools/coverage_tables.py makes from the code's tables."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_committed_coverage_tables_match_the_code():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "coverage_tables.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tflite_table_names_every_builtin_operator():
    from litert_formats.tflite.schema import SCHEMA

    text = (ROOT / "docs" / "coverage-tflite.md").read_text()
    for name in SCHEMA.enums["BuiltinOperator"]:
        assert f"| {name} |" in text
    assert "| CONV_2D | 3 | read |" in text and "| CUSTOM | 32 | not read |" in text
