"""TFLite's enumerations (from the generated layout) and their IR counterparts."""
from __future__ import annotations

from litert.ir import DType

from .schema.layout import ENUMS

#: BuiltinOperator value -> name (``CONV_2D``...)
OPERATOR_NAMES: dict[int, str] = ENUMS["BuiltinOperator"]
TENSOR_TYPE_NAMES: dict[int, str] = ENUMS["TensorType"]
ACTIVATION_NAMES: dict[int, str] = ENUMS["ActivationFunctionType"]

#: TensorType member -> IR dtype (the others: STRING, COMPLEX, RESOURCE, VARIANT, INT4... are not read)
_DTYPE_OF_NAME = {
    "FLOAT32": DType.FLOAT32, "FLOAT16": DType.FLOAT16, "FLOAT64": DType.FLOAT64, "INT8": DType.INT8,
    "UINT8": DType.UINT8, "INT16": DType.INT16, "UINT16": DType.UINT16, "INT32": DType.INT32,
    "UINT32": DType.UINT32, "INT64": DType.INT64, "UINT64": DType.UINT64, "BOOL": DType.BOOL,
}
TENSOR_TYPES: dict[int, DType] = {v: _DTYPE_OF_NAME[n] for v, n in TENSOR_TYPE_NAMES.items() if n in _DTYPE_OF_NAME}

CUSTOM = next(v for v, n in OPERATOR_NAMES.items() if n == "CUSTOM")
#: OperatorCode.deprecated_builtin_code holds this when the real code is past 127 (in builtin_code)
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
