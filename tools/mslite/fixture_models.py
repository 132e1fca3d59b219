"""ONNX models the .ms fixtures and live tests are made from (built with onnx.helper, seeded).

* :func:`small_cnn` - one of each CNN feature converter_lite turns into its
  own primitives: conv + BN + ReLU, dilated and depthwise convolutions,
  SAME padding, max/average pooling, LRN, LeakyReLU, sigmoid, ReLU6,
  concat, residual add, global pooling, Gemm and softmax.
* :func:`mobilenet_v2_tiny` - MobileNetV2-style inverted residuals (1x1
  expand, depthwise 3x3, 1x1 project, ReLU6, residual adds), small enough
  to commit.
* :func:`bert_tiny` - the project's BERT-style encoder, two small layers
  (hidden 64, sequence 16: MindSpore Lite 2.0.0 computes hidden 32 with
  sequence 8 wrongly, whoever wrote the .ms).
* :func:`lstm_model` - an ONNX LSTM with explicit initial states (MindSpore
  Lite 2.0.0 crashes on the LSTM its converter makes without them).
* :func:`ops_4d`, :func:`ops_3d` - one of each of the other primitives
  converter_lite emits (StridedSlice with axes, PadFusion, Split with sizes,
  PReLUFusion, ReduceFusion, Gather, TileFusion, BroadcastTo, ArgMaxFusion,
  Cast, PowFusion, ExpFusion, Maximum/Minimum, unary math).

Each returns ``(model, inputs)`` with inputs in ONNX's (NCHW) layout.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from helpers import modelgen  # noqa: E402  (the project's model generators)


class _Net(modelgen.OnnxBuilder):
    """The project's ONNX builder with the layers converter_lite's fixtures are made of."""

    def weight(self, *shape, fan_in: int) -> np.ndarray:
        return (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def conv(self, x: str, cin: int, cout: int, k: int, group: int = 1, bias: bool = True, **attrs) -> str:
        w = self.const(self.weight(cout, cin // group, k, k, fan_in=cin // group * k * k))
        inputs = [x, w] + ([self.const((self.rng.standard_normal(cout) * 0.1).astype(np.float32), "b")] if bias else [])
        attrs.setdefault("strides", [1, 1])  # converter_lite 2.0.0 fails on a Conv without strides/dilations
        attrs.setdefault("dilations", [1, 1])
        return self.op("Conv", inputs, kernel_shape=[k, k], group=group, **attrs)

    def bn(self, x: str, c: int) -> str:
        params = [self.rng.uniform(0.8, 1.2, c), self.rng.uniform(-0.1, 0.1, c), self.rng.uniform(-0.1, 0.1, c),
                  self.rng.uniform(0.5, 1.5, c)]
        return self.op("BatchNormalization", [x] + [self.const(p.astype(np.float32), "bn") for p in params], epsilon=1e-5)

    def relu6(self, x: str) -> str:
        return self.op("Clip", [x, self.const(np.float32(0.0), "lo"), self.const(np.float32(6.0), "hi")])

    def model(self, name: str, inputs, outputs) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")
        onnx.checker.check_model(model)
        return model


def small_cnn(seed: int = 0, size: int = 32) -> tuple[onnx.ModelProto, dict]:
    n = _Net(seed)
    x = n.op("Relu", [n.bn(n.conv("image", 3, 8, 3, bias=False, pads=[1, 1, 1, 1]), 8)])
    x = n.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    a = n.op("LeakyRelu", [n.conv(x, 8, 8, 1)], alpha=0.1)
    b = n.op("Sigmoid", [n.conv(x, 8, 8, 3, dilations=[2, 2], pads=[2, 2, 2, 2])])
    x = n.op("Concat", [a, b], axis=1)
    x = n.relu6(n.conv(x, 16, 16, 3, group=16, strides=[2, 2], auto_pad="SAME_UPPER"))
    x = n.op("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    x = n.op("LRN", [x], size=3, alpha=1e-3, beta=0.75, bias=1.0)
    y = n.op("Relu", [n.conv(x, 16, 16, 1)])
    x = n.op("Add", [x, y])
    x = n.op("Flatten", [n.op("GlobalAveragePool", [x])], axis=1)
    w = (n.rng.standard_normal((10, 16)) * 0.3).astype(np.float32)
    logits = n.op("Gemm", [x, n.const(w), n.const(np.linspace(-0.1, 0.1, 10, dtype=np.float32), "fc_b")], transB=1)
    probs = n.op("Softmax", [logits], axis=-1)
    model = n.model("small_cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
                    [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, 10]),
                     helper.make_tensor_value_info(probs, TensorProto.FLOAT, [1, 10])])
    inputs = {"image": np.random.default_rng(seed + 1).standard_normal((1, 3, size, size)).astype(np.float32)}
    return model, inputs


def mobilenet_v2_tiny(seed: int = 0, size: int = 32, classes: int = 10) -> tuple[onnx.ModelProto, dict]:
    n = _Net(seed)

    def conv_bn(x, cin, cout, k, stride=1, group=1, act=True):
        y = n.bn(n.conv(x, cin, cout, k, group=group, bias=False, strides=[stride, stride], pads=[k // 2] * 4), cout)
        return n.relu6(y) if act else y

    x = conv_bn("input", 3, 8, 3, stride=2)
    cin = 8
    for expand, cout, repeats, stride in [(1, 8, 1, 1), (6, 16, 2, 2), (6, 24, 2, 2)]:
        for i in range(repeats):
            s = stride if i == 0 else 1
            hidden = cin * expand
            y = x if expand == 1 else conv_bn(x, cin, hidden, 1)
            y = conv_bn(y, hidden, hidden, 3, stride=s, group=hidden)
            y = conv_bn(y, hidden, cout, 1, act=False)
            x = n.op("Add", [x, y]) if s == 1 and cin == cout else y
            cin = cout
    x = conv_bn(x, cin, 64, 1)
    x = n.op("Flatten", [n.op("GlobalAveragePool", [x])], axis=1)
    w = (n.rng.standard_normal((classes, 64)) * 0.1).astype(np.float32)
    x = n.op("Gemm", [x, n.const(w), n.const(np.zeros(classes, np.float32), "fc_b")], transB=1)
    model = n.model("mobilenet_v2_tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
                    [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, classes])])
    inputs = {"input": np.random.default_rng(seed + 1).standard_normal((1, 3, size, size)).astype(np.float32)}
    return model, inputs


def bert_tiny(seed: int = 0, layers: int = 2, hidden: int = 64, heads: int = 4, seq: int = 16) -> tuple[onnx.ModelProto, dict]:
    model = modelgen.bert_encoder(seed=seed, layers=layers, hidden=hidden, heads=heads, seq=seq)
    return model, modelgen.bert_inputs(batch=1, seq=seq, hidden=hidden, seed=seed + 1)


def lstm_model(seed: int = 0, steps: int = 6, batch: int = 2, features: int = 8, hidden: int = 16) -> tuple[onnx.ModelProto, dict]:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((1, 4 * hidden, features)) * 0.3).astype(np.float32)
    r = (rng.standard_normal((1, 4 * hidden, hidden)) * 0.3).astype(np.float32)
    b = (rng.standard_normal((1, 8 * hidden)) * 0.1).astype(np.float32)
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], ["y", "y_h", "y_c"], hidden_size=hidden)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, batch, features]),
         helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, batch, hidden]),
         helper.make_tensor_value_info("c0", TensorProto.FLOAT, [1, batch, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [steps, 1, batch, hidden]),
         helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [1, batch, hidden]),
         helper.make_tensor_value_info("y_c", TensorProto.FLOAT, [1, batch, hidden])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")
    onnx.checker.check_model(model)
    feed_rng = np.random.default_rng(seed + 1)
    inputs = {"x": feed_rng.standard_normal((steps, batch, features)).astype(np.float32),
              "h0": (feed_rng.standard_normal((1, batch, hidden)) * 0.5).astype(np.float32),
              "c0": (feed_rng.standard_normal((1, batch, hidden)) * 0.5).astype(np.float32)}
    return model, inputs


def _typed_outputs(n: _Net, name: str, inputs, outputs: list[str]) -> onnx.ModelProto:
    """A model whose output types come from ONNX shape inference."""
    graph = helper.make_graph(n.nodes, name, inputs, [onnx.ValueInfoProto(name=o) for o in outputs], n.inits)
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="litert-tests"))
    infos = {v.name: v for v in model.graph.value_info}
    del model.graph.output[:]
    model.graph.output.extend(infos[o] for o in outputs)
    onnx.checker.check_model(model)
    return model


def ops_4d(seed: int = 0) -> tuple[onnx.ModelProto, dict]:
    n = _Net(seed)
    x = "x"
    a = n.op("Slice", [x, n.const(np.array([0, 1], np.int64)), n.const(np.array([4, 7], np.int64)),
                       n.const(np.array([1, 2], np.int64))])
    a = n.op("Pad", [a, n.const(np.array([0, 0, 1, 0, 0, 0, 1, 2], np.int64))], mode="constant")
    b = n.op("Tanh", [x])
    c = n.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)
    d = n.op("Elu", [x], alpha=0.5)
    g = n.op("Sub", [n.op("Min", [n.op("Max", [b, c]), d]), n.op("Exp", [n.op("Neg", [n.op("Abs", [x])])])])
    h = n.op("PRelu", [g, n.const((n.rng.standard_normal((4, 1, 1)) * 0.3).astype(np.float32))])
    n.nodes.append(helper.make_node("Split", [h, n.const(np.array([1, 3], np.int64))], ["s1", "s2"], axis=1))
    m = n.op("ReduceMean", ["s2", n.const(np.array([1], np.int64))], keepdims=1)
    root = n.op("Sqrt", [n.op("Add", [n.op("Mul", ["s1", "s1"]), n.const(np.float32(1.0))])])
    out = n.op("Softplus", [n.op("Concat", ["s1", m, root], axis=1)])
    model = _typed_outputs(n, "ops_4d", [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 4, 8, 8])], [out, a])
    return model, {"x": np.random.default_rng(seed + 3).standard_normal((1, 4, 8, 8)).astype(np.float32)}


def ops_3d(seed: int = 0) -> tuple[onnx.ModelProto, dict]:
    n = _Net(seed)
    x = "x"
    a = n.op("Transpose", [n.op("Gather", [x, n.const(np.array([4, 0, 2], np.int64))], axis=1)], perm=[0, 2, 1])
    c = n.op("Tile", [n.op("ReduceSum", [a, n.const(np.array([-1], np.int64))], keepdims=0),
                      n.const(np.array([1, 2], np.int64))])
    e = n.op("Expand", [n.op("Unsqueeze", [c, n.const(np.array([1], np.int64))]), n.const(np.array([2, 3, 10], np.int64))])
    f = n.op("Pow", [n.op("Abs", [e]), n.const(np.float32(1.5))])
    h = n.op("Cast", [n.op("ArgMax", [x], axis=2, keepdims=0)], to=TensorProto.FLOAT)
    peak = n.op("Add", [n.op("ReduceMax", [x, n.const(np.array([2], np.int64))], keepdims=1), n.const(np.float32(2.0))])
    j = n.op("LeakyRelu", [n.op("Softmax", [n.op("Div", [n.op("Sigmoid", [x]), peak])], axis=1)], alpha=0.2)
    model = _typed_outputs(n, "ops_3d", [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 6, 5])], [f, h, j])
    return model, {"x": np.random.default_rng(seed + 3).standard_normal((2, 6, 5)).astype(np.float32)}


#: fixture name -> (builder, converter input_format)
FIXTURES = {
    "small_cnn": (small_cnn, "NHWC"),
    "small_cnn_nchw": (small_cnn, "NCHW"),
    "mobilenet_v2_tiny": (mobilenet_v2_tiny, "NHWC"),
    "bert_tiny": (bert_tiny, "NHWC"),
    "lstm": (lstm_model, "NHWC"),
    "ops_4d": (ops_4d, "NHWC"),
    "ops_3d": (ops_3d, "NHWC"),
}

#: converter_lite's 8-bit weight quantisation (int8 weights, per-channel QuantParam, CNode quantType QUANT_WEIGHT)
WEIGHT_QUANT_CONFIG = """[common_quant_param]
quant_type=WEIGHT_QUANT
bit_num=8
min_quant_weight_size=0
min_quant_weight_channel=0
"""
#: fixtures converter_lite makes with a config; MindSpore Lite 2.0.0 itself fails to run them
#: ("Prepare kernels failed"), so they carry onnxruntime's float outputs only
CONFIG_FIXTURES = {"small_cnn_weightquant": (small_cnn, "NHWC", WEIGHT_QUANT_CONFIG)}


def to_layout(inputs: dict, input_format: str) -> dict:
    """The inputs as a model with ``input_format`` takes them (4-D NCHW -> NHWC)."""
    if input_format != "NHWC":
        return dict(inputs)
    return {k: (np.ascontiguousarray(v.transpose(0, 2, 3, 1)) if v.ndim == 4 else v) for k, v in inputs.items()}
