""":class:`litert.lazy_table.LazyTable` under concurrent first use: an entry found while its module is still
being imported by another thread is handed out only once that import is done."""
from __future__ import annotations

import sys
import threading

import pytest

_TABLE = '''
import threading
from litert.lazy_table import LazyTable

TABLE = LazyTable("{package}", {{("", "Slow"): "slow"}})
REGISTERED = threading.Event()
'''

_SLOW = '''
import time
from {package}.table import REGISTERED, TABLE

TABLE.register(("", "Slow"), "entry")  # as a decorator does, before the rest of the module exists
REGISTERED.set()
time.sleep(0.5)
READY = True  # what the entry needs, defined after the registration
'''


@pytest.mark.parametrize("lookup", ["get", "getitem"])
def test_an_entry_registered_mid_import_waits_for_its_module(tmp_path, monkeypatch, lookup):
    package = f"lazy_table_race_{lookup}"
    root = tmp_path / package
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "table.py").write_text(_TABLE.format(package=package))
    (root / "slow.py").write_text(_SLOW.format(package=package))
    monkeypatch.syspath_prepend(str(tmp_path))
    table = __import__(f"{package}.table", fromlist=["TABLE"])
    REGISTERED, TABLE = table.REGISTERED, table.TABLE

    first = threading.Thread(target=lambda: TABLE[("", "Slow")])  # imports slow.py, which sleeps
    first.start()
    try:
        assert REGISTERED.wait(30)
        assert ("", "Slow") in TABLE.loaded  # registered, and the module still sleeping
        entry = TABLE.get(("", "Slow")) if lookup == "get" else TABLE[("", "Slow")]
        assert entry == "entry"
        assert getattr(sys.modules[f"{package}.slow"], "READY", False), "handed out before its module was done"
    finally:
        first.join()
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]
