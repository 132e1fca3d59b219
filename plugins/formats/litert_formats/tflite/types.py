"""TFLite's enumerations (from the generated schema module) and their IR counterparts."""
from __future__ import annotations

from litert.ir import DType

from .schema import SCHEMA

#: BuiltinOperator value -> name (``CONV_2D``...); the schema module maps the other way
OPERATOR_NAMES: dict[int, str] = SCHEMA.enum_names("BuiltinOperator")
TENSOR_TYPE_NAMES: dict[int, str] = SCHEMA.enum_names("TensorType")
ACTIVATION_NAMES: dict[int, str] = SCHEMA.enum_names("ActivationFunctionType")
PADDING: dict[str, int] = SCHEMA.enums["Padding"]
MIRROR_PAD_MODES: dict[str, int] = SCHEMA.enums["MirrorPadMode"]

#: TensorType member -> IR dtype (the others: STRING, COMPLEX, RESOURCE, VARIANT, INT4... are not read)
_DTYPE_OF_NAME = {
    "FLOAT32": DType.FLOAT32, "FLOAT16": DType.FLOAT16, "FLOAT64": DType.FLOAT64, "INT8": DType.INT8,
    "UINT8": DType.UINT8, "INT16": DType.INT16, "UINT16": DType.UINT16, "INT32": DType.INT32,
    "UINT32": DType.UINT32, "INT64": DType.INT64, "UINT64": DType.UINT64, "BOOL": DType.BOOL,
}
TENSOR_TYPES: dict[int, DType] = {v: _DTYPE_OF_NAME[n] for v, n in TENSOR_TYPE_NAMES.items() if n in _DTYPE_OF_NAME}

CUSTOM = SCHEMA.enums["BuiltinOperator"]["CUSTOM"]
#: OperatorCode.deprecated_builtin_code holds this when the real code is past 127 (in builtin_code)
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
