"""Models the tests (and benchmarks) make themselves, with onnx.helper.

* :func:`randomized_light_model` - a light-zoo model with its ConstantOfShape
  weights replaced by seeded random values (positive BatchNorm variances), and
  the final Softmax dropped so logits are compared.
* :func:`mobilenet_v2` - inverted residual blocks: 1x1 expand, depthwise 3x3,
  1x1 project, ReLU6, residual adds, dynamic batch.
* :func:`bert_encoder` - a BERT-style encoder: LayerNorm, multi-head attention
  with an additive mask, GELU (Erf form), dynamic batch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = ("resnet50", "densenet121", "inception_v1", "inception_v2", "shufflenet", "squeezenet", "vgg19",
                "bvlc_alexnet", "zfnet512")


def light_model_path(name: str) -> Path:
    return LIGHT_DIR / f"light_{name}.onnx"


def _weight_like(shape, role: str, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(int(d) for d in shape)
    if role == "var":
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if role == "scale":
        return rng.uniform(0.8, 1.2, shape).astype(np.float32)
    if role in ("bias", "mean"):
        return rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else max(shape[0] if shape else 1, 1)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32)


_ROLES = {  # (consumer op, input index) -> role of the weight
    ("BatchNormalization", 1): "scale", ("BatchNormalization", 2): "bias",
    ("BatchNormalization", 3): "mean", ("BatchNormalization", 4): "var",
    ("Conv", 2): "bias", ("Gemm", 2): "bias", ("Add", 1): "bias", ("Sum", 1): "bias",
}


def randomized_light_model(name: str, seed: int = 0) -> onnx.ModelProto:
    """A light-zoo model with seeded random weights and logits as output."""
    model = onnx.load(light_model_path(name))
    graph = model.graph
    rng = np.random.default_rng(seed)
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consumers: dict[str, tuple[str, int]] = {}
    for node in graph.node:
        for index, name_in in enumerate(node.input):
            consumers.setdefault(name_in, (node.op_type, index))
    kept, new_inits = [], []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = inits[node.input[0]]
            role = _ROLES.get(consumers.get(node.output[0], ("", 0)), "weight")
            new_inits.append(numpy_helper.from_array(_weight_like(shape, role, rng), node.output[0]))
        else:
            kept.append(node)
    # Graph inputs that are really weights (old IR: initializers listed as inputs)
    init_names = {i.name for i in graph.initializer}
    for value in graph.input:
        if value.name in init_names:
            continue
        role_key = consumers.get(value.name)
        if role_key and role_key != ("", 0) and value.name not in _data_inputs(graph):
            dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
            new_inits.append(numpy_helper.from_array(_weight_like(dims, _ROLES.get(role_key, "weight"), rng), value.name))
    if kept and kept[-1].op_type == "Softmax":
        last = kept.pop()
        graph.output[0].name = last.input[0]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(new_inits)
    new_names = {i.name for i in new_inits}
    data = [v for v in graph.input if v.name not in new_names]
    del graph.input[:]
    graph.input.extend(data)
    del graph.output[0].type.tensor_type.shape.dim[:]
    return model


def _data_inputs(graph) -> set[str]:
    """Graph inputs that are data: 4-D float inputs not written by any initializer."""
    names = set()
    for value in graph.input:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].dim_value == 3:
            names.add(value.name)
    return names


def light_input(model: onnx.ModelProto, seed: int = 0, batch: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    init = {i.name for i in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in init:
            continue
        dims = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        if batch is not None:
            dims[0] = batch
        feeds[value.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


# ---------------------------------------------------------------- generated nets


class OnnxBuilder:
    """Nodes and initialisers of a generated ONNX graph, with seeded weights and numbered names."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, array: np.ndarray, base: str = "w") -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs) -> str | list[str]:
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def image_classifier(self, x: str, channels: int, classes: int, name: str, resolution: int) -> onnx.ModelProto:
        """The model whose convolutional body ends in ``x`` (``channels`` wide): global average pooling and a
        fully connected layer to ``classes`` logits, over ``[N, 3, resolution, resolution]`` images."""
        x = self.op("GlobalAveragePool", [x])
        x = self.op("Flatten", [x], axis=1)
        w = (self.rng.standard_normal((classes, channels)) * 0.03).astype(np.float32)
        x = self.op("Gemm", [x, self.const(w), self.const(np.zeros(classes, np.float32), "fc_b")], transB=1)
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, resolution, resolution])],
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", classes])], self.inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")

    def conv_bn(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1, relu6: bool = True) -> str:
        w = (self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / (cin // group * k * k))).astype(np.float32)
        y = self.op("Conv", [x, self.const(w)], kernel_shape=[k, k], strides=[stride, stride],
                    pads=[k // 2] * 4, group=group)
        bn = [self.rng.uniform(0.8, 1.2, cout), self.rng.uniform(-0.1, 0.1, cout),
              self.rng.uniform(-0.1, 0.1, cout), self.rng.uniform(0.5, 1.5, cout)]
        y = self.op("BatchNormalization", [y] + [self.const(p.astype(np.float32), "bn") for p in bn], epsilon=1e-5)
        if relu6:
            y = self.op("Clip", [y, self.const(np.float32(0.0), "lo"), self.const(np.float32(6.0), "hi")])
        return y


def mobilenet_v2(seed: int = 0, width: float = 1.0, resolution: int = 224, classes: int = 1000) -> onnx.ModelProto:
    """MobileNetV2 (inverted residuals, depthwise convs, ReLU6), dynamic batch."""
    b = OnnxBuilder(seed)
    c = lambda n: max(8, int(n * width + 4) // 8 * 8)  # noqa: E731
    x = b.conv_bn("input", 3, c(32), 3, stride=2)
    cin = c(32)
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for expand, out, repeats, stride in settings:
        for i in range(repeats):
            s = stride if i == 0 else 1
            hidden = cin * expand
            y = x if expand == 1 else b.conv_bn(x, cin, hidden, 1)
            y = b.conv_bn(y, hidden, hidden, 3, stride=s, group=hidden)
            y = b.conv_bn(y, hidden, c(out), 1, relu6=False)
            x = b.op("Add", [x, y]) if s == 1 and cin == c(out) else y
            cin = c(out)
    x = b.conv_bn(x, cin, 1280, 1)
    return b.image_classifier(x, 1280, classes, "mobilenet_v2", resolution)


def resnet18(seed: int = 0, resolution: int = 224, classes: int = 1000) -> onnx.ModelProto:
    """ResNet-18 (basic blocks of two 3x3 convs, residual Add + Relu, 1x1 projection shortcuts), dynamic batch."""
    b = OnnxBuilder(seed)
    relu = lambda y: b.op("Relu", [y])  # noqa: E731
    x = relu(b.conv_bn("input", 3, 64, 7, stride=2, relu6=False))
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
        y = relu(b.conv_bn(x, cin, cout, 3, stride=stride, relu6=False))
        y = b.conv_bn(y, cout, cout, 3, relu6=False)
        shortcut = x if stride == 1 and cin == cout else b.conv_bn(x, cin, cout, 1, stride=stride, relu6=False)
        x = relu(b.op("Add", [shortcut, y]))
        cin = cout
    return b.image_classifier(x, cin, classes, "resnet18", resolution)


def bert_encoder(seed: int = 0, layers: int = 4, hidden: int = 256, heads: int = 4, seq: int = 128,
                 ffn: int | None = None) -> onnx.ModelProto:
    """A BERT-style encoder over embeddings ``[N, seq, hidden]`` with mask ``[N, seq]``."""
    b = OnnxBuilder(seed)
    ffn = ffn or 4 * hidden
    head_dim = hidden // heads
    lin = lambda x, i, o: b.op("Add", [b.op("MatMul", [x, b.const((b.rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32))]),  # noqa: E731
                                       b.const((b.rng.standard_normal(o) * 0.02).astype(np.float32), "b")])

    def layer_norm(x):
        return b.op("LayerNormalization", [x, b.const(b.rng.uniform(0.9, 1.1, hidden).astype(np.float32), "g"),
                                           b.const((b.rng.standard_normal(hidden) * 0.02).astype(np.float32), "beta")],
                    axis=-1, epsilon=1e-12)

    # additive mask: (1 - mask) * -10000, shaped [N, 1, 1, seq]
    mask = b.op("Unsqueeze", ["attention_mask", b.const(np.array([1, 2], np.int64), "axes")])
    mask = b.op("Mul", [b.op("Sub", [b.const(np.float32(1.0), "one"), mask]), b.const(np.float32(-10000.0), "big")])
    heads_shape = b.const(np.array([0, 0, heads, head_dim], np.int64), "shape")
    merge_shape = b.const(np.array([0, 0, hidden], np.int64), "shape")
    x = layer_norm("embeddings")
    for _ in range(layers):
        q, k, v = (b.op("Transpose", [b.op("Reshape", [lin(x, hidden, hidden), heads_shape])], perm=perm)
                   for perm in ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]))
        scores = b.op("Div", [b.op("MatMul", [q, k]), b.const(np.float32(np.sqrt(head_dim)), "scale")])
        probs = b.op("Softmax", [b.op("Add", [scores, mask])], axis=-1)
        ctx = b.op("Reshape", [b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        x = layer_norm(b.op("Add", [x, lin(ctx, hidden, hidden)]))
        h = lin(x, hidden, ffn)
        gelu = b.op("Mul", [b.op("Mul", [h, b.op("Add", [b.op("Erf", [b.op("Div", [h, b.const(np.float32(np.sqrt(2.0)), "sqrt2")])]),
                                                         b.const(np.float32(1.0), "one")])]), b.const(np.float32(0.5), "half")])
        x = layer_norm(b.op("Add", [x, lin(gelu, ffn, hidden)]))
    graph = helper.make_graph(
        b.nodes, "bert_encoder",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["N", seq, hidden]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["N", seq])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", seq, hidden])], b.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")


def bert_inputs(batch: int = 1, seq: int = 128, hidden: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), np.float32)
    mask[:, seq * 3 // 4:] = 0.0  # padded tail
    return {"embeddings": rng.standard_normal((batch, seq, hidden)).astype(np.float32), "attention_mask": mask}


# ---------------------------------------------------------------- more model classes for the benchmark


def _dense(b: OnnxBuilder, x: str, fan_in: int, fan_out: int) -> str:
    w = (b.rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
    return b.op("Add", [b.op("MatMul", [x, b.const(w)]), b.const((b.rng.standard_normal(fan_out) * 0.02).astype(np.float32), "b")])


def vit(seed: int = 0, image: int = 224, patch: int = 16, hidden: int = 192, layers: int = 6, heads: int = 3,
        classes: int = 1000) -> onnx.ModelProto:
    """A ViT-style transformer: 16x16/16 patch-embedding conv, class token,
    position embeddings, pre-norm encoder blocks (LayerNormalization,
    MatMul-Softmax-MatMul attention, Erf GELU), classifier on the class token."""
    b = OnnxBuilder(seed)
    tokens = (image // patch) ** 2
    head_dim = hidden // heads
    w = (b.rng.standard_normal((hidden, 3, patch, patch)) * np.sqrt(2.0 / (3 * patch * patch))).astype(np.float32)
    x = b.op("Conv", ["image", b.const(w)], kernel_shape=[patch, patch], strides=[patch, patch])
    x = b.op("Transpose", [b.op("Reshape", [x, b.const(np.array([0, hidden, tokens], np.int64), "shape")])], perm=[0, 2, 1])
    cls = b.op("Expand", [b.const((b.rng.standard_normal((1, 1, hidden)) * 0.02).astype(np.float32), "cls"),
                          b.op("Concat", [b.op("Slice", [b.op("Shape", ["image"]), b.const(np.array([0], np.int64), "s"),
                                                           b.const(np.array([1], np.int64), "e")]),
                                          b.const(np.array([1, hidden], np.int64), "dims")], axis=0)])
    x = b.op("Add", [b.op("Concat", [cls, x], axis=1),
                     b.const((b.rng.standard_normal((1, tokens + 1, hidden)) * 0.02).astype(np.float32), "pos")])

    def norm(v):
        return b.op("LayerNormalization", [v, b.const(b.rng.uniform(0.9, 1.1, hidden).astype(np.float32), "g"),
                                           b.const((b.rng.standard_normal(hidden) * 0.02).astype(np.float32), "beta")],
                    axis=-1, epsilon=1e-6)

    split_heads = b.const(np.array([0, 0, heads, head_dim], np.int64), "shape")
    merge_heads = b.const(np.array([0, 0, hidden], np.int64), "shape")
    for _ in range(layers):
        h = norm(x)
        q, k, v = (b.op("Transpose", [b.op("Reshape", [_dense(b, h, hidden, hidden), split_heads])], perm=perm)
                   for perm in ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3]))
        scores = b.op("Mul", [b.op("MatMul", [q, k]), b.const(np.float32(1 / np.sqrt(head_dim)), "scale")])
        att = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        att = b.op("Reshape", [b.op("Transpose", [att], perm=[0, 2, 1, 3]), merge_heads])
        x = b.op("Add", [x, _dense(b, att, hidden, hidden)])
        h = _dense(b, norm(x), hidden, 4 * hidden)
        gelu = b.op("Mul", [b.op("Mul", [h, b.op("Add", [b.op("Erf", [b.op("Div", [h, b.const(np.float32(np.sqrt(2.0)), "sqrt2")])]),
                                                         b.const(np.float32(1.0), "one")])]), b.const(np.float32(0.5), "half")])
        x = b.op("Add", [x, _dense(b, gelu, 4 * hidden, hidden)])
    cls_out = b.op("Gather", [norm(x), b.const(np.array(0, np.int64), "index")], axis=1)
    logits = _dense(b, cls_out, hidden, classes)
    graph = helper.make_graph(
        b.nodes, "vit",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, image, image])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", classes])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")


def unet(seed: int = 0, size: int = 128, base: int = 16, levels: int = 3, classes: int = 2) -> onnx.ModelProto:
    """A U-Net-style encoder-decoder: Conv+BN+ReLU blocks, MaxPool down,
    ConvTranspose (odd levels) or Resize (even levels) up, Concat skips."""
    b = OnnxBuilder(seed)

    def block(x, cin, cout):
        for c_in in (cin, cout):
            x = b.conv_bn(x, c_in, cout, 3, relu6=False)
            x = b.op("Relu", [x])
        return x

    x, c, skips = "image", 3, []
    for level in range(levels):
        x = block(x, c, base << level)
        c = base << level
        skips.append((x, c))
        x = b.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = block(x, c, base << levels)
    c = base << levels
    for level in reversed(range(levels)):
        skip, cs = skips[level]
        if level % 2:
            w = (b.rng.standard_normal((c, cs, 2, 2)) * np.sqrt(2.0 / (c * 4))).astype(np.float32)
            x = b.op("ConvTranspose", [x, b.const(w), b.const(np.zeros(cs, np.float32), "b")], kernel_shape=[2, 2],
                     strides=[2, 2])
        else:
            x = b.op("Resize", [x, "", b.const(np.array([1, 1, 2, 2], np.float32), "scales")], mode="linear")
            x = b.conv_bn(x, c, cs, 1, relu6=False)
        x = block(b.op("Concat", [x, skip], axis=1), 2 * cs, cs)
        c = cs
    w = (b.rng.standard_normal((classes, c, 1, 1)) * np.sqrt(1.0 / c)).astype(np.float32)
    x = b.op("Conv", [x, b.const(w)], kernel_shape=[1, 1])
    graph = helper.make_graph(
        b.nodes, "unet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", classes, size, size])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")


def small_lstm(seed: int = 0, steps: int = 16, features: int = 64, hidden: int = 128, classes: int = 10) -> onnx.ModelProto:
    """A small streaming LSTM (batch 1, a few steps): its latency is per-step work."""
    b = OnnxBuilder(seed)
    scale = 1 / np.sqrt(hidden)
    w = b.const((b.rng.standard_normal((1, 4 * hidden, features)) * scale).astype(np.float32))
    r = b.const((b.rng.standard_normal((1, 4 * hidden, hidden)) * scale).astype(np.float32))
    bias = b.const((b.rng.standard_normal((1, 8 * hidden)) * 0.1).astype(np.float32), "b")
    _, h = b.op("LSTM", ["frames", w, r, bias], n_out=2, hidden_size=hidden)
    h = b.op("Squeeze", [h, b.const(np.array([0], np.int64), "axes")])
    logits = _dense(b, h, hidden, classes)
    graph = helper.make_graph(
        b.nodes, "small_lstm",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, [steps, 1, features])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, classes])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")


def detection_head(seed: int = 0, size: int = 256, classes: int = 20, anchors: int = 3) -> onnx.ModelProto:
    """A small detection head: a conv backbone with three strides (8, 16, 32),
    per-scale box/class convs, sigmoid scores, reshaped and transposed to
    [N, boxes, 4 + classes] and concatenated (NMS-free)."""
    b = OnnxBuilder(seed)
    x, c, feats = "image", 3, []
    for stage, cout in enumerate((16, 32, 64, 96, 128)):
        x = b.conv_bn(x, c, cout, 3, stride=2, relu6=True)
        x = b.conv_bn(x, cout, cout, 3, relu6=True)
        c = cout
        if stage >= 2:
            feats.append((x, c))
    outs = []
    for x, c in feats:
        h = b.conv_bn(x, c, 64, 3, relu6=True)
        wb = (b.rng.standard_normal((anchors * 4, 64, 1, 1)) * 0.1).astype(np.float32)
        wc = (b.rng.standard_normal((anchors * classes, 64, 1, 1)) * 0.1).astype(np.float32)
        boxes = b.op("Conv", [h, b.const(wb), b.const(np.zeros(anchors * 4, np.float32), "b")], kernel_shape=[1, 1])
        scores = b.op("Sigmoid", [b.op("Conv", [h, b.const(wc), b.const(np.zeros(anchors * classes, np.float32), "b")],
                                       kernel_shape=[1, 1])])
        y = b.op("Concat", [b.op("Reshape", [boxes, b.const(np.array([0, anchors, 4, -1], np.int64), "shape")]),
                            b.op("Reshape", [scores, b.const(np.array([0, anchors, classes, -1], np.int64), "shape")])], axis=2)
        y = b.op("Transpose", [y], perm=[0, 1, 3, 2])  # [N, anchors, cells, 4 + classes]
        outs.append(b.op("Reshape", [y, b.const(np.array([0, -1, 4 + classes], np.int64), "shape")]))
    out = b.op("Concat", outs, axis=1)
    graph = helper.make_graph(
        b.nodes, "detection_head",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", "boxes", 4 + classes])], b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="litert-tests")
