"""Importing litert and loading models without the cyclic garbage collector.

Reading and compiling a model creates a few hundred small objects per node
(protobuf wrappers, IR nodes and values, lowered steps) and frees almost none
of them, so every automatic collection walks a heap that only grows: 40% of
the time of loading a 20k-node graph went to collections that found nothing.
A load pauses the collector and restores it when done; loads in several
threads share one pause (counted), so none turns it back on under another.

``import litert`` pauses it too: the import makes ~5000 objects that live as
long as the process (modules, classes, functions), and the seven collections
that ran during it walked them for nothing (~0.5 ms of a fresh process's first
load of a small model, 2-vCPU Xeon).  The one collection after a pause walks
each object once.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
