"""MindSpore's own values that neither file schema defines, shared by the ``.ms`` and MindIR formats."""
from __future__ import annotations

from typing import Any

from litert.ir import DType

#: MindSpore ``TypeId`` (include/mindapi/base/type_id.h), for ``.ms`` tensors and MindIR's dtype arguments both:
#: value -> its name there and the IR dtype (None: litert has none)
MINDSPORE_TYPE_IDS: dict[int, tuple[str, DType | None]] = {
    12: ("String", None), 30: ("Bool", DType.BOOL), 32: ("Int8", DType.INT8), 33: ("Int16", DType.INT16),
    34: ("Int32", DType.INT32), 35: ("Int64", DType.INT64), 37: ("UInt8", DType.UINT8), 38: ("UInt16", DType.UINT16),
    39: ("UInt32", DType.UINT32), 40: ("UInt64", DType.UINT64), 42: ("Float16", DType.FLOAT16),
    43: ("Float32", DType.FLOAT32), 44: ("Float64", DType.FLOAT64), 45: ("BFloat16", DType.BFLOAT16),
    51: ("Complex64", DType.COMPLEX64), 52: ("Complex128", DType.COMPLEX128),
}


def enum_name(enum: Any, value: int) -> str:
    """The member name of ``value``, or the number for one the schema does not know."""
    try:
        return enum(value).name
    except ValueError:
        return str(value)
