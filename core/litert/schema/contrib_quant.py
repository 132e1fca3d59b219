"""Schemas of onnxruntime's quantised contrib operators (domain ``com.microsoft``, QOperator format).

onnxruntime's quantiser writes these when asked for ``QuantFormat.QOperator`` (QGemm, QLinearAdd,
QLinearConcat...); the standard QLinearConv/QLinearMatMul are ONNX's own.  Inputs and attributes follow
onnxruntime's ``contrib_defs`` (``docs/ContribOperators.md``).
"""
from __future__ import annotations

from .registry import AttrSpec, OpSchema, SchemaRegistry

CONTRIB = "com.microsoft"

_UNARY = [("X", "single"), ("X_scale", "single"), ("X_zero_point", "optional"), ("Y_scale", "single"),
          ("Y_zero_point", "optional")]
_BINARY = [("A", "single"), ("A_scale", "single"), ("A_zero_point", "optional"), ("B", "single"),
           ("B_scale", "single"), ("B_zero_point", "optional"), ("C_scale", "single"), ("C_zero_point", "optional")]
_POOL_ATTRS = {
    "auto_pad": AttrSpec("string", default="NOTSET"), "ceil_mode": AttrSpec("int", default=0),
    "count_include_pad": AttrSpec("int", default=0), "kernel_shape": AttrSpec("ints", required=True),
    "pads": AttrSpec("ints"), "strides": AttrSpec("ints"), "dilations": AttrSpec("ints"),
    "channels_last": AttrSpec("int", default=0),
}

#: op -> (inputs, min_inputs, attributes)
QUANT_CONTRIB_OPS: dict[str, tuple[list[tuple[str, str]], int, dict[str, AttrSpec]]] = {
    "QGemm": ([("A", "single"), ("a_scale", "single"), ("a_zero_point", "single"), ("B", "single"),
               ("b_scale", "single"), ("b_zero_point", "single"), ("C", "optional"), ("y_scale", "optional"),
               ("y_zero_point", "optional")], 6,
              {"alpha": AttrSpec("float", default=1.0), "transA": AttrSpec("int", default=0),
               "transB": AttrSpec("int", default=0)}),
    "QLinearAdd": (_BINARY, 7, {}),
    "QLinearMul": (_BINARY, 7, {}),
    "QLinearSigmoid": (_UNARY, 4, {}),
    "QLinearLeakyRelu": (_UNARY, 4, {"alpha": AttrSpec("float", default=0.01)}),
    "QLinearGlobalAveragePool": (_UNARY, 4, {"channels_last": AttrSpec("int", default=0)}),
    "QLinearAveragePool": (_UNARY, 4, _POOL_ATTRS),
    "QLinearConcat": ([("Y_scale", "single"), ("Y_zero_point", "single"), ("inputs", "variadic")], 3,
                      {"axis": AttrSpec("int", required=True)}),
}


#: onnxruntime's dynamically quantised LSTM (``quantize_dynamic`` writes it for LSTM): ONNX's LSTM with int8
#: weights stored [directions, input, 4 x hidden] (and [directions, hidden, 4 x hidden]), per direction or
#: per gate-row scales
DYNAMIC_QUANTIZE_LSTM = OpSchema(
    domain=CONTRIB, op_type="DynamicQuantizeLSTM", since=1,
    attrs={"activation_alpha": AttrSpec("floats"), "activation_beta": AttrSpec("floats"),
           "activations": AttrSpec("strings"), "clip": AttrSpec("float"),
           "direction": AttrSpec("string", default="forward"), "hidden_size": AttrSpec("int"),
           "input_forget": AttrSpec("int", default=0)},
    inputs=[("X", "single"), ("W", "single"), ("R", "single"), ("B", "optional"), ("sequence_lens", "optional"),
            ("initial_h", "optional"), ("initial_c", "optional"), ("P", "optional"), ("W_scale", "single"),
            ("W_zero_point", "single"), ("R_scale", "single"), ("R_zero_point", "single")],
    outputs=[("Y", "optional"), ("Y_h", "optional"), ("Y_c", "optional")],
    min_inputs=12, max_inputs=12, min_outputs=0, max_outputs=3,
)


def register_quant_contrib(registry: SchemaRegistry) -> None:
    registry.register(DYNAMIC_QUANTIZE_LSTM)
    for op_type, (inputs, min_inputs, attrs) in QUANT_CONTRIB_OPS.items():
        registry.register(OpSchema(
            domain=CONTRIB, op_type=op_type, since=1, attrs=dict(attrs), inputs=list(inputs),
            outputs=[("Y", "single")], min_inputs=min_inputs,
            max_inputs=2**31 - 1 if op_type == "QLinearConcat" else len(inputs), min_outputs=1, max_outputs=1,
        ))
