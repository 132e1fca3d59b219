"""ONNX node conformance: every official node case, run through litert.

Cases listed in ``expected_failures.txt`` may fail (each with a category);
every other case must pass, an expected failure that passes must be removed
from the list, and the pass count must not fall below the recorded one.
"""
from __future__ import annotations

import time

from helpers.conformance import SUMMARY, load_expected, node_cases, recorded_count, run_case


def test_onnx_node_conformance():
    cases = node_cases()
    expected = load_expected()
    started = time.perf_counter()
    failures = {case.name: reason for case in cases if (reason := run_case(case)) is not None}
    elapsed = time.perf_counter() - started
    passed = len(cases) - len(failures)
    line = f"onnx node conformance: {passed}/{len(cases)} ({passed / len(cases):.1%}, {elapsed:.0f} s)"
    SUMMARY.append(line)
    print(line)
    unexpected = {n: r for n, r in failures.items() if n not in expected}
    newly_passing = sorted(n for n in expected if n not in failures and any(c.name == n for c in cases))
    assert not unexpected, "cases failing that are not expected to:\n" + "\n".join(
        f"  {n}: {r}" for n, r in sorted(unexpected.items()))
    assert not newly_passing, "expected failures now pass; remove them from expected_failures.txt:\n  " + "\n  ".join(newly_passing)
    assert passed >= recorded_count(), f"pass count {passed} fell below the recorded {recorded_count()}"
