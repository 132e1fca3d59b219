"""MindSpore's enumerations as the ``.ms`` file stores them, and their IR counterparts.

The schema's enums come from the generated :mod:`.schema` (one place each); only the
values ms.fbs does not define (FmkType, the v0 NodeType) are written here, and MindSpore's TypeId,
which MindIR uses too, in :mod:`litert_formats.mindspore`.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Any

from litert import __version__
from litert.ir import DType

from ..mindspore import MINDSPORE_TYPE_IDS
from .schema import SCHEMA

#: the ``MetaGraph.version`` litert writes: who made the file.  MindSpore Lite 2.0.0 does not check it (its
#: own converter leaves it empty; files that say "litert ..." load and run the same, tested live), so litert
#: does not claim to be MindSpore Lite's converter.
MS_VERSION = f"litert {__version__}"

#: what a ``.ms`` tensor may hold as far as litert reads and writes it: no bfloat16 or complex data
_NOT_IN_MS = {DType.BFLOAT16, DType.COMPLEX64, DType.COMPLEX128}
TYPE_IDS: dict[int, DType] = {v: dt for v, (_, dt) in MINDSPORE_TYPE_IDS.items() if dt is not None and dt not in _NOT_IN_MS}
TYPE_ID_OF: dict[DType, int] = {v: k for k, v in TYPE_IDS.items()}
TYPE_ID_NAMES: dict[int, str] = {v: name for v, (name, _) in MINDSPORE_TYPE_IDS.items()}

#: ``Tensor.nodeType`` values (NodeType of the v0 schema, not in ms.fbs)
NODE_VALUE = 0      # a constant
NODE_PARAMETER = 1
NODE_CNODE = 2      # an activation (what converter_lite writes for inputs and intermediates)

#: ``FmkType`` (include/registry/converter_context.h, not in ms.fbs): the framework a model was converted from
FMK_TYPES = {0: "TF", 1: "CAFFE", 2: "ONNX", 3: "MINDIR", 4: "TFLITE", 5: "PYTORCH", 6: "MSLITE", 7: "OM"}


def _enum(name: str) -> Any:
    """A schema enum as an ``IntEnum`` (member -> value from the generated module; ``Enum(value).name``
    inverts).  Typed ``Any``: the members come from a table, which static checkers do not see."""
    return IntEnum(name, SCHEMA.enums[name])


Format = _enum("Format")
ActivationType = _enum("ActivationType")
PadMode = _enum("PadMode")
ReduceMode = _enum("ReduceMode")
EltwiseMode = _enum("EltwiseMode")
PaddingMode = _enum("PaddingMode")
RoundMode = _enum("RoundMode")
QuantType = _enum("QuantType")


#: ReduceMode member -> the ONNX reduction it computes (ReduceASum is ONNX's ReduceL1; ReduceAll has none)
_ONNX_REDUCTION_NAMES = {"ReduceASum": "ReduceL1", "ReduceAll": None}
ONNX_REDUCTIONS = {m: _ONNX_REDUCTION_NAMES.get(m.name, m.name) for m in ReduceMode
                   if _ONNX_REDUCTION_NAMES.get(m.name, m.name)}
#: ActivationType -> the ONNX op it is, both ways, and that op's default ``alpha`` (None: it has none)
ONNX_ACTIVATIONS = {ActivationType.SIGMOID: ("Sigmoid", None), ActivationType.TANH: ("Tanh", None),
                    ActivationType.SOFTSIGN: ("Softsign", None), ActivationType.SOFTPLUS: ("Softplus", None),
                    ActivationType.HSWISH: ("HardSwish", None), ActivationType.ELU: ("Elu", 1.0),
                    ActivationType.LEAKY_RELU: ("LeakyRelu", 0.01)}
#: PaddingMode member -> ONNX Pad mode, both ways
ONNX_PAD_MODES = {PaddingMode.CONSTANT: "constant", PaddingMode.REFLECT: "reflect"}
#: Resize's enum fields -> (the ONNX attribute, member value -> ONNX's name for it): the member's name in lower
#: case but where ONNX names it otherwise (NearestMode NORMAL reads as floor); the writer inverts them
_ONNX_NEAREST_NAMES = {"NORMAL": "floor", "ROUND_HALF_DOWN": "round_prefer_floor", "ROUND_HALF_UP": "round_prefer_ceil"}
ONNX_RESIZE = {
    "method": ("mode", {v: k.lower() for k, v in SCHEMA.enums["ResizeMethod"].items() if v >= 0}),
    "coordinate_transform_mode": ("coordinate_transformation_mode",
                                  {v: k.lower() for k, v in SCHEMA.enums["CoordinateTransformMode"].items()}),
    "nearest_mode": ("nearest_mode", {v: _ONNX_NEAREST_NAMES.get(k, k.lower()) for k, v in SCHEMA.enums["NearestMode"].items()}),
}


def narrowed(dtype: DType) -> DType:
    """The type a ``.ms`` file stores for ``dtype``: converter_lite narrows int64 to int32."""
    return DType.INT32 if dtype is DType.INT64 else dtype
