"""Operators the Kirin NPU backend maps onto HiAI IR operators (NCHW float16/float32)."""

SUPPORTED_OPS = frozenset(
    {
        "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Conv", "ConvTranspose", "Div",
        "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "InstanceNormalization",
        "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "PRelu", "ReduceMean", "Relu", "Reshape", "Resize",
        "Sigmoid", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
    }
)
SUPPORTED_DTYPES = frozenset({"float32", "float16", "int32"})
