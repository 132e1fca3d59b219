"""Every lazily imported table's generated index (``tools/gen_kernel_index.py``: the CPU kernels, the shape rules)
matches its decorators: each registered entry is indexed under the module that registers it, and nothing else is
indexed; after adding, moving or removing one, ``python tools/gen_kernel_index.py`` regenerates the indexes."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
try:
    import gen_kernel_index
finally:
    sys.path.remove(str(ROOT / "tools"))


@pytest.mark.parametrize("module", sorted(gen_kernel_index.TABLES))
def test_index_matches_the_decorators(module):
    name, _ = gen_kernel_index.TABLES[module]
    stale = getattr(importlib.import_module(module), name).load_all().stale()
    assert not stale, f"run `python tools/gen_kernel_index.py`: (index, decorators) differ for {sorted(stale.items())[:10]}"


@pytest.mark.parametrize("module", sorted(gen_kernel_index.TABLES))
def test_generator_writes_the_committed_index(module):
    out, text = gen_kernel_index.generate(module)
    assert out == Path(importlib.import_module(module).__file__).with_name("_index.py")
    assert text == out.read_text()
