"""The kernel index (``litert_cpu/kernels/_index.py``) says, for every ``@kernel``, the module whose import
registers it: the CPU backend imports only the modules a model needs (:class:`litert.lazy_table.LazyTable`)."""
from __future__ import annotations

import json
import subprocess
import sys

from litert_cpu.kernels import _registry
from litert_cpu.kernels._index import INDEX

_LAZY = """
import json, sys
from litert_cpu.kernels._registry import KERNELS
before = sorted(m for m in sys.modules if m.startswith("litert_cpu.kernels."))
ops = ("", "Relu") in KERNELS, ("", "Conv") in KERNELS, ("", "NoSuchOp") in KERNELS
relu = KERNELS[("", "Relu")]
after = sorted(m for m in sys.modules if m.startswith("litert_cpu.kernels."))
print(json.dumps({"before": before, "after": after, "ops": ops, "relu": relu.__module__, "n": len(KERNELS),
                  "items": len(list(KERNELS.items()))}))
"""


def test_a_lookup_imports_only_its_module():
    """Asking whether a kernel exists imports nothing; asking for Relu's class imports its module (and what
    that module needs), not the convolution's.  Listing the table (``items()``, which imports the modules
    one by one) sees every kernel."""
    result = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["ops"] == [True, True, False]
    assert not any(m.split(".")[-1] in {"unary", "activation", "conv", "pool"} for m in seen["before"]), seen["before"]
    assert f"litert_cpu.kernels.{INDEX[('', 'Relu')]}" in seen["after"]
    assert "litert_cpu.kernels.nn.conv" not in seen["after"]
    assert seen["n"] == seen["items"] == len(INDEX)


def test_every_indexed_kernel_resolves():
    """Each index entry, looked up through the table, is the class its module registered."""
    table = _registry.load_all()
    for key in INDEX:
        cls = table[key]
        assert table.loaded[key] is cls and isinstance(cls, type)
