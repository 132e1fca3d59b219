"""The .ms rename table (ms/ops.py): every row names what the schemas have, and both registries use it.

The bytes each row reads and writes are checked by the writer/reader tests and the live round trips
(test_ms_converter_coverage.py); this checks the table itself, which a typo would break silently for the
rows no model in the tests uses.
"""
from __future__ import annotations

import pytest

from litert.schema import schemas
from litert_formats.ms.ops import BY_ONNX, TABLE
from litert_formats.ms.read_ops import READERS
from litert_formats.ms.schema import SCHEMA
from litert_formats.ms.types import ONNX_RESIZE
from litert_formats.ms.write_ops import RESIZE_ENUMS, WRITERS


@pytest.mark.parametrize("op", TABLE, ids=lambda op: op.primitive)
def test_row_names_a_primitive_its_fields_and_an_onnx_op(op):
    assert op.primitive in SCHEMA.unions["PrimitiveType"]
    fields = SCHEMA.fields[op.primitive]
    fielded = [attr.field for attr in op.attrs if attr.input is None]  # the others are constant inputs
    assert all(field in fields for field in fielded), [field for field in fielded if field not in fields]
    onnx = schemas().get("", op.onnx)
    known = set(onnx.attrs)
    named = {attr.onnx for attr in op.attrs if attr.onnx} | set(op.onnx_fixed) | set(op.only)
    assert named <= known, named - known
    if op.inputs is not None:
        assert onnx.min_inputs <= op.inputs - op.optional and op.inputs <= onnx.max_inputs
    assert op.primitive in READERS


def test_every_onnx_op_of_the_table_has_a_writer():
    domains = {op.onnx: "litert.ms.nhwc" if op.channels_last else "" for op in BY_ONNX.values()}
    assert all((domain, onnx) in WRITERS for onnx, domain in domains.items())


def test_resize_names_invert_to_the_values_converter_lite_writes():
    assert RESIZE_ENUMS["mode"] == {"linear": 0, "nearest": 1, "cubic": 2}
    assert RESIZE_ENUMS["coordinate_transformation_mode"] == {
        "asymmetric": 0, "align_corners": 1, "half_pixel": 2, "pytorch_half_pixel": 2}
    # NearestMode NORMAL (0) reads as floor, but floor is written as FLOOR (3)
    assert ONNX_RESIZE["nearest_mode"][1][0] == "floor"
    assert RESIZE_ENUMS["nearest_mode"] == {"floor": 3, "round_prefer_floor": 1, "round_prefer_ceil": 2, "ceil": 4}
