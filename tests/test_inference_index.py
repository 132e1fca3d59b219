"""The shape-rule index (``litert/schema/inference/_index.py``) says, for every ``@rule``/``@shaped_rule``, the
module whose import registers it: a load imports only the rule modules of its model's operators
(:data:`litert.schema.inference.RULES` is a :class:`litert.lazy_table.LazyTable`)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from litert.lazy_table import LazyTable
from litert.schema.inference import _base
from litert.schema.inference._index import INDEX

_LAZY = """
import json, sys
from litert.schema.inference import RULES
prefix = "litert.schema.inference."
before = sorted(m for m in sys.modules if m.startswith(prefix))
ops = ("", "Relu") in RULES, ("", "If") in RULES, ("", "NoSuchOp") in RULES
relu = RULES.get(("", "Relu"))
after = sorted(m for m in sys.modules if m.startswith(prefix))
listed = sorted(RULES)
items = len(list(RULES.items()))
print(json.dumps({"before": before, "after": after, "ops": ops, "relu": relu.__module__, "n": len(listed),
                  "items": items, "all": sorted(m for m in sys.modules if m.startswith(prefix))}))
"""


def test_a_lookup_imports_only_its_module():
    """Importing the package and asking whether a rule exists import no rule module but the ones the
    engine needs (``data_prop`` and the ``shape_ops`` it reads); asking for Relu's rule imports its
    module, not control flow's.  Listing the table sees every rule, and its ``items()`` imports them all."""
    result = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["ops"] == [True, True, False]
    modules = {f"litert.schema.inference.{m}" for m in INDEX.values()}
    assert set(seen["before"]) & modules <= {"litert.schema.inference.shape_ops"}, seen["before"]
    relu_module = f"litert.schema.inference.{INDEX['', 'Relu']}"
    assert seen["relu"] == relu_module and relu_module in seen["after"]
    assert "litert.schema.inference.control_flow" not in seen["after"]
    assert seen["n"] == seen["items"] == len(INDEX)
    assert modules <= set(seen["all"])


def test_every_indexed_rule_resolves():
    """Each index entry, looked up through the table, is the function its module registered."""
    table = _base.RULES.load_all()
    for key in INDEX:
        fn = table[key]
        assert table.loaded[key] is fn and callable(fn)


def test_a_stale_index_and_a_second_owner_are_errors():
    """An index naming a module that registers nothing for the key fails loudly, as does a second
    registration of one key; a registration by a module other than the indexed one shows in ``stale``
    (the module is the one whose top-level code runs the registration, through any helpers)."""
    table: LazyTable[tuple[str, str], object] = LazyTable(
        "litert.schema.inference", {("", "Relu"): "control_flow", ("", "Abs"): "elementwise"}, what="shape rule")
    with pytest.raises(LookupError, match="shape rule index: importing control_flow registered no shape rule"):
        table[("", "Relu")]
    source = "def helper(op):\n    table.register(('', op), abs)\nhelper('Abs')\n"
    exec(compile(source, "elsewhere.py", "exec"), {"__name__": "litert.schema.inference.elsewhere", "table": table})
    with pytest.raises(ValueError, match="two shape rules"):
        table.register(("", "Abs"), abs)
    assert table[("", "Abs")] is abs
    assert table.stale() == {("", "Relu"): ("control_flow", None), ("", "Abs"): ("elementwise", "elsewhere")}
    assert table.get(("", "Missing")) is None and ("", "Missing") not in table
