"""Small ONNX models that exercise every branch of the MindIR writer (ops MindSpore maps differently).

Each builder returns ``(onnx.ModelProto, feeds)``.  They are written to
``.mindir`` by litert and then run by litert (default tests) and by real
MindSpore (live tests).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import litert

OPSET = 20  # Gelu


class _G:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.n = 0

    def const(self, value, dtype=np.float32) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def weight(self, *shape, scale=0.3) -> str:
        return self.const(self.rng.standard_normal(shape) * scale)

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs):
        self.n += 1
        outs = [f"{op_type.lower()}{self.n}_{k}" for k in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"{op_type}_{self.n}", **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, inputs: dict[str, list], outputs: list[str]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, "writer_case",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
            [helper.make_empty_tensor_value_info(o) for o in outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="litert-tests")
        inferred = {vi.name: vi for vi in onnx.shape_inference.infer_shapes(model).graph.value_info}
        for i, name in enumerate(outputs):  # typed outputs, as onnx.checker wants
            model.graph.output[i].CopyFrom(inferred[name])
        return model


def conv_block(seed: int = 0):
    """Asymmetric/dilated/strided conv with bias, depthwise SAME conv, BatchNorm, ReLU, Sum/Max/Min, HardSwish."""
    g = _G(seed)
    a = g.op("Conv", ["x", g.weight(6, 3, 3, 3), g.weight(6)], pads=[1, 0, 2, 1], dilations=[2, 2], strides=[2, 1])
    a = g.op("Relu", [a])
    b = g.op("Conv", [a, g.weight(6, 1, 3, 3)], group=6, auto_pad="SAME_UPPER", strides=[2, 2])
    b = g.op("BatchNormalization", [b, g.const(g.rng.uniform(0.8, 1.2, 6)), g.weight(6, scale=0.1),
                                    g.weight(6, scale=0.1), g.const(g.rng.uniform(0.5, 1.5, 6))], epsilon=1e-3)
    c = g.op("Conv", [b, g.weight(6, 6, 1, 1)], auto_pad="VALID")
    s = g.op("Sum", [b, c, g.op("Sigmoid", [b])])
    m = g.op("Max", [s, g.op("HardSwish", [c])])
    m = g.op("Min", [m, g.op("Relu", [s]), g.op("Tanh", [c])])
    return g.model({"x": [2, 3, 12, 11]}, [m]), {"x": g.rng.standard_normal((2, 3, 12, 11)).astype(np.float32)}


def pools(seed: int = 1):
    """Pooling MindSpore's 2-D primitives cannot express (explicit, asymmetric, ceil_mode, counting the pad), LRN."""
    g = _G(seed)
    x = "x"
    outs = [
        g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1),
        g.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
        g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
        g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1),
        g.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
        g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2]),
        g.op("GlobalAveragePool", [x]),
        g.op("GlobalMaxPool", [x]),
        g.op("LRN", [x], size=5, alpha=1e-3, beta=0.75, bias=2.0),
    ]
    return g.model({"x": [1, 20, 9, 9]}, outs), {"x": g.rng.standard_normal((1, 20, 9, 9)).astype(np.float32)}


def dense(seed: int = 2):
    """Gemm with alpha/beta and transposes, MatMul 3-D x 2-D, activations MindSpore lacks, softmaxes, Where, Cast."""
    g = _G(seed)
    y = g.op("Gemm", ["x", g.weight(8, 6), g.weight(8)], alpha=0.5, beta=2.0, transB=1)
    y = g.op("Gemm", [g.weight(8, 2), y, g.weight(2, 2)], transA=1, transB=1)
    r = g.op("Reshape", ["x", g.const([2, 3, 2], np.int64)])
    mm = g.op("MatMul", [r, g.weight(2, 4)])
    act = [
        g.op("Clip", [mm, g.const(-0.5), g.const(0.7)]),
        g.op("Clip", [mm, g.const(0.0), g.const(6.0)]),
        g.op("LeakyRelu", [mm], alpha=0.1),
        g.op("HardSigmoid", [mm], alpha=0.2, beta=0.4),
        g.op("Gelu", [mm]),
        g.op("Gelu", [mm], approximate="tanh"),
        g.op("Softmax", [mm], axis=1),
        g.op("LogSoftmax", [mm], axis=-1),
        g.op("Where", [g.op("Greater", [mm, g.const(0.1)]), mm, g.op("Neg", [mm])]),
        g.op("Cast", [g.op("Cast", [g.op("Mul", [mm, g.const(3.0)])], to=TensorProto.INT32)], to=TensorProto.FLOAT),
        g.op("Div", [g.op("Sqrt", [g.op("Abs", [mm])]), g.op("Add", [g.op("Exp", [mm]), g.const(1.0)])]),
    ]
    return g.model({"x": [2, 6]}, [y] + act), {"x": g.rng.standard_normal((2, 6)).astype(np.float32)}


def shapes(seed: int = 3):
    """Reshape with 0 and -1, Flatten at axis 2, Transpose, (Un)Squeeze, Slice with steps, Split, Expand,
    Tile, Concat, Gather, reductions."""
    g = _G(seed)
    x = "x"
    outs = [
        g.op("Reshape", [x, g.const([0, -1], np.int64)]),
        g.op("Flatten", [x], axis=2),
        g.op("Transpose", [x], perm=[0, 3, 1, 2]),
        g.op("Squeeze", [g.op("Unsqueeze", [x, g.const([0, -1], np.int64)]), g.const([0], np.int64)]),
        g.op("Slice", [x, g.const([1, 4], np.int64), g.const([3, 0], np.int64), g.const([1, 3], np.int64),
                       g.const([1, -2], np.int64)]),
        g.op("Slice", [x, g.const([0, 1], np.int64), g.const([1, 2**40], np.int64), g.const([0, 2], np.int64)]),
        *g.op("Split", [x], n_out=2, axis=3, num_outputs=2),
        g.op("Expand", [g.op("ReduceMean", [x, g.const([1], np.int64)], keepdims=1), g.const([3, 1, 1], np.int64)]),
        g.op("Tile", [x, g.const([1, 2, 1, 1], np.int64)]),
        g.op("Concat", [x, g.op("Neg", [x])], axis=1),
        g.op("Gather", [x, g.const([2, 0], np.int64)], axis=2),
        g.op("ReduceSum", [x, g.const([1, 3], np.int64)], keepdims=0),
        g.op("ReduceMax", [x], keepdims=0),
        g.op("ReduceMin", [x, g.const([-1], np.int64)]),
    ]
    return g.model({"x": [2, 3, 4, 6]}, outs), {"x": g.rng.standard_normal((2, 3, 4, 6)).astype(np.float32)}


CASES = {"conv_block": conv_block, "pools": pools, "dense": dense, "shapes": shapes}


def written(name: str, level: str, tmp_path: Path) -> tuple[Path, dict, list]:
    """Case ``name`` converted to ``.mindir`` by litert at ``optimize_level`` ``level``: the file, the case's
    feeds and litert's outputs of the ONNX source (what the written model must give)."""
    model, feeds = CASES[name]()
    src, dst = tmp_path / f"{name}.onnx", tmp_path / f"{name}.mindir"
    onnx.save(model, src)
    litert.convert(src, dst, optimize_level=level)
    return dst, feeds, litert.load(src).predict(feeds)
