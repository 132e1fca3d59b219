"""MindSpore's enumerations as the ``.ms`` file stores them, and their IR counterparts."""
from __future__ import annotations

from litert import __version__
from litert.ir import DType

#: the ``MetaGraph.version`` litert writes: who made the file.  MindSpore Lite 2.0.0 does not check it (its
#: own converter leaves it empty; files that say "litert ..." load and run the same, tested live), so litert
#: does not claim to be MindSpore Lite's converter.
MS_VERSION = f"litert {__version__}"

#: MindSpore ``TypeId`` (include/mindapi/base/type_id.h) -> IR dtype
TYPE_IDS: dict[int, DType] = {
    30: DType.BOOL,
    32: DType.INT8,
    33: DType.INT16,
    34: DType.INT32,
    35: DType.INT64,
    37: DType.UINT8,
    38: DType.UINT16,
    39: DType.UINT32,
    40: DType.UINT64,
    42: DType.FLOAT16,
    43: DType.FLOAT32,
    44: DType.FLOAT64,
}
TYPE_ID_OF: dict[DType, int] = {v: k for k, v in TYPE_IDS.items()}
TYPE_ID_NAMES = {30: "Bool", 32: "Int8", 33: "Int16", 34: "Int32", 35: "Int64", 37: "UInt8", 38: "UInt16",
                 39: "UInt32", 40: "UInt64", 42: "Float16", 43: "Float32", 44: "Float64", 12: "String"}

#: ``Tensor.nodeType`` values (NodeType of the v0 schema)
NODE_VALUE = 0      # a constant
NODE_PARAMETER = 1
NODE_CNODE = 2      # an activation (what converter_lite writes for inputs and intermediates)

#: ``Format`` enum (ops_types.fbs)
NCHW, NHWC = 0, 1
FORMAT_NAMES = ("NCHW", "NHWC", "NHWC4", "HWKC", "HWCK", "KCHW", "CKHW", "KHWC", "CHWK", "HW", "HW4", "NC", "NC4",
                "NC4HW4", "NUM_OF_FORMAT", "NCDHW", "NWC", "NCW", "NC8HW8")

#: ``FmkType`` (include/registry/converter_context.h): the framework a model was converted from
FMK_TYPES = {0: "TF", 1: "CAFFE", 2: "ONNX", 3: "MINDIR", 4: "TFLITE", 5: "PYTORCH", 6: "MSLITE", 7: "OM"}

#: ``QuantType`` enum (model.fbs)
QUANT_TYPES = ("QUANT_NONE", "AwareTraining", "WeightQuant", "PostTraining", "QUANT_WEIGHT", "QUANT_ALL", "QUANT_DYNAMIC")

#: ``ActivationType`` enum (ops_types.fbs)
NO_ACTIVATION, RELU, SIGMOID, RELU6, ELU, LEAKY_RELU, ABS, RELU1, SOFTSIGN, SOFTPLUS, TANH, SELU, HSWISH, HSIGMOID, \
    THRESHOLDRELU, LINEAR, HARD_TANH, SIGN, SWISH, GELU, FAST_GELU, UNKNOWN_ACTIVATION = range(22)

#: ``PadMode``
PAD, SAME, VALID = 0, 1, 2

#: ``ReduceMode``
REDUCE_MODES = ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "ReduceASum",
                "ReduceAll", "ReduceL2")

#: ``EltwiseMode``
ELTWISE_PROD, ELTWISE_SUM, ELTWISE_MAXIMUM = 0, 1, 2


def narrowed(dtype: DType) -> DType:
    """The type a ``.ms`` file stores for ``dtype``: converter_lite narrows int64 to int32."""
    return DType.INT32 if dtype is DType.INT64 else dtype
