"""Operators the Ascend backend maps onto CANN's operator library.

The ONNX operators CANN's ONNX parser documents as supported for inference
on Ascend 310/910 (the common subset; dtype limits are checked per node).
"""

SUPPORTED_OPS = frozenset(
    {
        "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Clip",
        "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "CumSum", "DepthToSpace",
        "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather",
        "GatherElements", "GatherND", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater", "HardSigmoid",
        "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "Less", "Log",
        "LogSoftmax", "LRN", "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Not", "Or", "Pad", "Pow", "PRelu",
        "Reciprocal", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "Relu", "Reshape",
        "Resize", "Round", "Selu", "Shape", "Sigmoid", "Sign", "Sin", "Slice", "Softmax", "Softplus",
        "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "TopK",
        "Transpose", "Unsqueeze", "Where",
    }
)

#: element types the Ascend kernels take (others fall back to CPU)
SUPPORTED_DTYPES = frozenset({"float32", "float16", "int32", "int64", "int8", "uint8", "bool"})
