"""Run the ONNX backend conformance cases through litert.

Node cases are generated from the installed ``onnx`` package
(``collect_testcases``) and cached under ``tests/conformance/.cache`` keyed by
the onnx version.  Outputs are compared with ONNX's own runner comparison
(``Runner.assert_similar_outputs``: shape, dtype, values within rtol/atol).
"""
from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import ml_dtypes
import onnx
from onnx.backend.test.runner import Runner

HERE = Path(__file__).resolve().parents[1] / "conformance"
CACHE = HERE / ".cache"
EXPECTED = HERE / "expected_failures.txt"
RTOL, ATOL = 1e-3, 1e-7
#: lines printed in the terminal summary (pass counts)
SUMMARY: list[str] = []


@dataclass
class Case:
    name: str
    model: bytes
    data_sets: list
    rtol: float = RTOL
    atol: float = ATOL


def node_cases() -> list[Case]:
    CACHE.mkdir(exist_ok=True)
    # the expected outputs of some cases (casts to 4- and 2-bit ints) are computed by ml_dtypes at collection
    path = CACHE / f"node-cases-onnx-{onnx.__version__}-ml_dtypes-{ml_dtypes.__version__}.pkl"
    if path.exists():
        try:
            return pickle.loads(path.read_bytes())
        except Exception:  # a stale or torn cache is regenerated
            path.unlink()
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = [
            Case(c.name, c.model.SerializeToString(), c.data_sets)
            for c in collect_testcases() if c.kind == "node"
        ]
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(cases))
    tmp.replace(path)
    return cases


def _normalize(item):
    """Data sets may hold TensorProto/SequenceProto/OptionalProto objects."""
    if isinstance(item, onnx.TensorProto):
        return onnx.numpy_helper.to_array(item)
    if isinstance(item, onnx.SequenceProto):
        return onnx.numpy_helper.to_list(item)
    if isinstance(item, onnx.OptionalProto):
        return onnx.numpy_helper.to_optional(item)
    return item


def assert_similar(expected, got, rtol: float, atol: float, where: str = "output") -> None:
    """ONNX's runner comparison (shape, dtype, values; strings exactly), extended
    to sequences of any tensors and to empty optionals (None)."""
    if expected is None:
        assert got is None, f"{where}: expected an empty optional, got {type(got).__name__}"
        return
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)), f"{where}: expected a sequence, got {type(got).__name__}"
        assert len(got) == len(expected), f"{where}: {len(got)} elements, expected {len(expected)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            assert_similar(e, g, rtol, atol, f"{where}[{i}]")
        return
    Runner.assert_similar_outputs([expected], [got], rtol=rtol, atol=atol)


def run_case(case: Case) -> str | None:
    """``None`` when litert passes the case, else a one-line reason."""
    from litert_formats.onnx.onnx_backend import LitertBackend

    try:
        rep = LitertBackend.prepare(onnx.load_from_string(case.model))
        for inputs, expected in case.data_sets:
            outputs = rep.run([_normalize(i) for i in inputs])
            assert len(outputs) == len(expected), f"{len(outputs)} outputs, expected {len(expected)}"
            for index, (want, got) in enumerate(zip(expected, outputs)):
                assert_similar(_normalize(want), got, case.rtol, case.atol, f"output {index}")
    except AssertionError as err:
        first = next((line for line in str(err).splitlines() if line.strip()), "")
        return f"mismatch: {first[:160]}"
    except Exception as err:  # noqa: BLE001 - every failure is a reported reason
        return f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
    return None


def load_expected() -> dict[str, str]:
    """``case name -> "category: reason"`` from expected_failures.txt."""
    table = {}
    if EXPECTED.exists():
        for line in EXPECTED.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, why = line.partition(" ")
                table[name] = why.strip()
    return table


def recorded_count() -> int:
    if EXPECTED.exists():
        match = re.search(r"^# recorded: (\d+)/(\d+)", EXPECTED.read_text(), re.M)
        if match:
            return int(match.group(1))
    return 0
