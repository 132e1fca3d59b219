"""The cyclic garbage collector is paused while litert is imported and while a model loads, and handed back as it
was found (``litert.gc_pause``)."""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
from helpers.hostile import relu_chain, save

from litert.gc_pause import collector_paused


def _fresh(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_litert_runs_at_most_one_collection_and_leaves_the_collector_on():
    """Only the collection after the pause runs (what litert's ``__init__`` imports before it, numpy and the
    standard library, imported first here: seven collections ran during the import without the pause)."""
    out = _fresh(
        "import gc, sys, contextlib, pathlib, threading, typing, numpy\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(info['generation']) if phase == 'start' else None)\n"
        "import litert\n"
        "imported = [m for m in sys.modules if m.startswith('litert')]\n"
        "print(len(runs) <= 1, gc.isenabled(), len(imported) > 20)\n"
    )
    assert out == "True True True"


def test_a_collector_the_user_turned_off_stays_off_after_import_and_load(tmp_path):
    path = save(relu_chain(1), tmp_path / "relu.onnx")
    out = _fresh(
        "import gc; gc.disable()\n"
        "import litert\n"
        "after_import = gc.isenabled()\n"
        f"litert.load({str(path)!r}, devices=['cpu'])\n"
        "print(after_import, gc.isenabled())\n"
    )
    assert out == "False False"


def test_pauses_in_several_threads_turn_the_collector_on_only_when_the_last_ends():
    import gc

    assert gc.isenabled()
    entered, release = threading.Barrier(3), threading.Event()
    seen: list[bool] = []

    def pause():
        with collector_paused():
            entered.wait()
            release.wait()
        seen.append(gc.isenabled())

    threads = [threading.Thread(target=pause) for _ in range(2)]
    for t in threads:
        t.start()
    entered.wait()
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join()
    assert gc.isenabled()
    # the first thread out may find the other still paused (off), the last one out finds it on
    assert seen.count(True) >= 1


def test_a_load_hands_the_collector_back(tmp_path):
    import gc

    import litert

    session = litert.load(save(relu_chain(1), tmp_path / "relu.onnx"), devices=["cpu"])
    assert gc.isenabled()
    x = np.array([[-1.0, 2.0, 0.5], [3.0, -4.0, 0.0]], np.float32)
    assert session.predict([x])[0].tolist() == [[0.0, 2.0, 0.5], [3.0, 0.0, 0.0]]
