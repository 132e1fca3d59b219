"""litert.probe.find_library: where vendor probes look for their runtimes, without a subprocess."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from litert.probe import find_library


@pytest.mark.parametrize("subdir", ["", "lib64", "lib"])
def test_a_library_under_an_environment_root_is_found(tmp_path, monkeypatch, subdir):
    (tmp_path / subdir).mkdir(exist_ok=True)
    library = tmp_path / subdir / f"libh34probe_{subdir or 'root'}.so"
    library.write_bytes(b"")
    monkeypatch.setenv("H34_PROBE_HOME", str(tmp_path))
    assert find_library(("libnothing_here.so", library.name), ("H34_PROBE_HOME",)) == library


def test_ld_library_path_then_nothing(tmp_path, monkeypatch):
    library = tmp_path / "libh34probe_ld.so"
    library.write_bytes(b"")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"/nonexistent:{tmp_path}")
    assert find_library((library.name,)) == library
    assert find_library(("libh34probe_surely_absent.so",)) is None
    (tmp_path / "libh34probe_dir.so").mkdir()  # a directory is not a library
    assert find_library(("libh34probe_dir.so",)) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the C library's name and the loader cache are Linux's")
def test_a_system_library_is_found_in_the_loader_cache_or_standard_dirs():
    found = find_library(("libc.so.6",))
    assert found is not None and found.name.startswith("libc.so") and Path(found).is_file()
