"""Helpers of the MindIR tests: the committed fixtures and the MindSpore oracle.

The fixtures (tests/data/mindir) were exported by real MindSpore with
tools/mindspore/export_fixtures.py: ``<name>.mindir`` (or, for the split
layout, ``<name>_graph.mindir`` + ``<name>_variables/``) and ``<name>.npz``
with the inputs and MindSpore's own outputs.  The live tests run MindSpore
itself, from its own venv (tools/mindspore/setup_venv.sh), as a subprocess.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
for _p in (ROOT / "core", ROOT / "plugins" / "formats"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

DATA = ROOT / "tests" / "data" / "mindir"
RUNNER = ROOT / "tools" / "mindspore" / "run_mindir.py"
RTOL, ATOL = 1e-4, 1e-5
#: the MindSpore venv's python: $LITERT_MINDSPORE_PYTHON, else the default of setup_venv.sh
MINDSPORE_PYTHON = Path(os.environ.get("LITERT_MINDSPORE_PYTHON", "/work/venvs/mindspore/bin/python"))


@dataclass
class Case:
    """One run of a fixture: inputs by name (in the model's order) and MindSpore's outputs."""

    label: str
    inputs: dict[str, np.ndarray]
    outputs: list[np.ndarray]


@dataclass
class Fixture:
    name: str
    path: Path
    cases: list[Case]


def fixture_names() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.npz"))


def fixture(name: str) -> Fixture:
    split = DATA / f"{name}_graph.mindir"
    path = split if split.exists() else DATA / f"{name}.mindir"
    data = np.load(DATA / f"{name}.npz")
    prefixes = sorted({k.split("/")[0] + "/" for k in data.files if "/" in k}) or [""]
    cases = []
    for prefix in prefixes:
        inputs = {k[len(prefix) + len("input:"):]: data[k] for k in data.files if k.startswith(prefix + "input:")}
        count = sum(1 for k in data.files if k.startswith(prefix + "output:"))
        outputs = [data[f"{prefix}output:{i}"] for i in range(count)]
        cases.append(Case(prefix.rstrip("/") or "default", inputs, outputs))
    return Fixture(name, path, cases)


def assert_matches(got, want, rtol: float = RTOL, atol: float = ATOL) -> None:
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def assert_all_match(got: list, want: list) -> None:
    """Output for output, :func:`assert_matches`."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_matches(g, np.asarray(w))


def mindspore_available() -> bool:
    return MINDSPORE_PYTHON.exists()


def mindspore_run(model: Path, inputs: list[np.ndarray], tmp: Path) -> list[np.ndarray]:
    """Outputs of ``model`` run by real MindSpore (``mindspore.load`` + ``nn.GraphCell``)."""
    feeds, result = tmp / f"{model.stem}.in.npz", tmp / f"{model.stem}.out.npz"
    np.savez(feeds, **{str(i): x for i, x in enumerate(inputs)})
    proc = subprocess.run([str(MINDSPORE_PYTHON), str(RUNNER), str(model), str(feeds), str(result)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if "deprecated" not in line]
        raise AssertionError(f"MindSpore could not run {model.name}:\n" + "\n".join(lines[-15:]))
    data = np.load(result)
    return [data[str(i)] for i in range(len(data.files))]
