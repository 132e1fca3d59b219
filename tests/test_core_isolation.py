"""The core never imports a plugin, onnx or onnxruntime."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core" / "litert"
FORBIDDEN = ("litert_cpu", "litert_formats", "litert_ascend", "litert_kirin_npu", "onnx", "onnxruntime")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]  # importlib.import_module("onnxruntime"), __import__("onnx"), find_spec(...)
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value.split(".")[0])
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__", "find_spec")


def test_the_check_sees_dynamic_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import importlib\nimportlib.import_module('onnxruntime')\n__import__('onnx.helper')\n")
    assert {"onnxruntime", "onnx"} <= _imports(source)


def test_core_source_imports_no_plugin():
    offenders = {
        str(path.relative_to(CORE)): sorted(_imports(path) & set(FORBIDDEN)) for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_core_and_cli_loads_no_plugin():
    code = (
        "import sys, litert, litert.cli.main; litert.cli.main.build_parser();"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
