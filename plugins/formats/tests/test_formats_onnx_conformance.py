"""ONNX's own node test models (every operator, many opsets) read and written back.

Each model is read by the frontend (upgraded to the latest operator forms),
written by the serializer, and run on onnxruntime next to the original.
Cases onnxruntime cannot run in their original form are skipped.  Cases
whose reading runs an upgrade adapter run by default; the rest (about a
minute) are marked ``slow``.
"""
from __future__ import annotations

import numpy as np
import pytest
from formats_testlib import roundtrip, run_ort, run_written
from onnx.backend.test.case.node import collect_testcases

from litert.schema import schemas
from litert_formats.onnx.upgrade import ADAPTERS

#: outputs that are random by definition
_RANDOM = ("bernoulli", "dropout_default_mask_ratio", "dropout_default_ratio", "training_dropout")
#: litert's Value.kind has no way to say optional(sequence(tensor)): written back as optional(tensor)
_OPTIONAL_SEQUENCE = {"test_identity_opt", "test_if_opt", "test_loop16_seq_none",
                      "test_optional_get_element_optional_sequence", "test_optional_has_element_optional_input"}


def _adapted(model) -> bool:
    """True when reading the model runs at least one upgrade adapter."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or not schemas().has("", node.op_type):
            continue
        try:
            since = schemas().get("", node.op_type, opset).since
        except Exception:
            continue
        if any(op == node.op_type and v > since for op, v in ADAPTERS):
            return True
    return False


def _cases():
    out = []
    for case in collect_testcases():
        if case.model is None or not case.data_sets or any(r in case.name for r in _RANDOM):
            continue
        fast = _adapted(case.model)
        marks = () if fast else (pytest.mark.slow,)
        if case.name in _OPTIONAL_SEQUENCE:
            marks += (pytest.mark.xfail(reason="IR kind cannot express optional(sequence)", strict=False),)
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def _compare(expected, got, name):
    assert len(expected) == len(got), name
    for e, g in zip(expected, got):
        if isinstance(e, list):
            assert len(e) == len(g)
            for a, b in zip(e, g):
                np.testing.assert_allclose(np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64),
                                           rtol=1e-4, atol=1e-5)
            continue
        e, g = np.asarray(e), np.asarray(g)
        assert e.shape == g.shape and e.dtype == g.dtype, (name, e.shape, g.shape, e.dtype, g.dtype)
        if e.dtype.kind in "fc":
            tol = 1e-2 if e.dtype.itemsize <= 2 else 1e-4
            if e.dtype.kind == "f":  # masked scores: -inf in one kernel version, float lowest in another
                big = np.finfo(e.dtype).max / 2
                e, g = np.clip(e, -big, big), np.clip(g, -big, big)
            with np.errstate(invalid="ignore"):
                np.testing.assert_allclose(g, e, rtol=tol, atol=tol * 0.1, equal_nan=True)
        elif e.dtype.kind in "biuOUS":
            np.testing.assert_array_equal(g, e)
        else:  # extension types (float8, int4...)
            np.testing.assert_array_equal(g.astype(np.float32), e.astype(np.float32))


@pytest.mark.parametrize("case", _cases())
def test_node_case_roundtrip(case, tmp_path):
    inputs = case.data_sets[0][0]
    names = [vi.name for vi in case.model.graph.input]
    feeds = {n: (np.asarray(x) if not isinstance(x, list) else x) for n, x in zip(names, inputs)}
    try:
        expected = run_ort(case.model, feeds)
    except Exception as err:  # onnxruntime lacks the operator/type/locale
        pytest.skip(f"onnxruntime cannot run the original: {str(err)[:80]}")
    _, out = roundtrip(case.model, tmp_path)
    _compare(expected, run_written(out, feeds), case.name)
