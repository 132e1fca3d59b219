"""Fixtures of the CPU plugin's tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def numpy_kernels_only(monkeypatch):
    """Compile partitions without native segments (as ``LITERT_CPU_NATIVE=0``
    does for a whole process), for tests of the numpy executor itself."""
    import litert_cpu.executor

    monkeypatch.setattr(litert_cpu.executor, "native_module", lambda: None)
