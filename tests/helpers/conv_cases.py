"""Random convolution cases shared by the native kernel tests (float32 and bf16 paths), and the one-partition
graphs they are run in (:func:`build`).

:func:`random_conv` draws the operands of one Conv (even cases) or FusedConv with a residual and an
activation (odd cases), always in the same order, so a case number names the same convolution everywhere.
"""
from __future__ import annotations

import numpy as np

from litert.ir import DType, Graph, Node, Value


def conv_out(n, k, s, d, pb, pe):
    return (n + pb + pe - (k - 1) * d - 1) // s + 1


def random_conv(rng: np.random.Generator, case: int, shape, m: int, kernel, strides, dilations, group: int, pads):
    """The node, its inputs, its constants (``w``, ``b``) and the output shape of one random convolution of an
    ``shape`` (N, C, H, W) input into ``m`` channels."""
    (n, c, h, w), (kh, kw), (sh, sw), (dh, dw) = shape, kernel, strides, dilations
    oh, ow = conv_out(h, kh, sh, dh, pads[0], pads[2]), conv_out(w, kw, sw, dw, pads[1], pads[3])
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((m, c // group, kh, kw)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    attrs = {"group": group, "strides": [sh, sw], "dilations": [dh, dw], "pads": pads, "kernel_shape": [kh, kw]}
    inputs = {"x": x}
    if case % 2:
        inputs["z"] = rng.standard_normal((n, m, oh, ow)).astype(np.float32)
        act = ["Relu", "Clip", "Sigmoid", "HardSigmoid"][case % 4]
        params = {"Clip": [-0.5, 0.75], "HardSigmoid": [0.2, 0.5]}.get(act, [])
        node = Node("FusedConv", ["x", "w", "b", "z"], ["y"], {**attrs, "activation": act, "activation_params": params},
                    name="conv", domain="com.microsoft")
    else:
        node = Node("Conv", ["x", "w", "b"], ["y"], attrs, name="conv")
    return node, inputs, {"w": wt, "b": b}, (n, m, oh, ow)


def build(nodes: list[Node], inputs: dict[str, np.ndarray], consts: dict[str, np.ndarray],
          outputs: dict[str, tuple[int, ...]]) -> Graph:
    values = {}
    for name, array in inputs.items():
        values[name] = Value(name, DType.FLOAT32, tuple(array.shape))
    for name, array in consts.items():
        values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
    for name, shape in outputs.items():
        values[name] = Value(name, DType.FLOAT32, tuple(shape))
    return Graph(nodes=nodes, inputs=list(inputs), outputs=list(outputs), values=values, name="case")


def preact_block(rng, n, c, m, h, w, extra_reader=False, kernel=1):
    """BatchNormalization -> Relu -> Conv (DenseNet's pre-activation layer); with ``extra_reader`` the ReLU's
    output is a graph output too."""
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    consts = {"gamma": rng.uniform(0.5, 1.5, c), "beta": rng.standard_normal(c), "mean": rng.standard_normal(c),
              "var": rng.uniform(0.5, 2.0, c), "w": rng.standard_normal((m, c, kernel, kernel)) / np.sqrt(c),
              "b": rng.standard_normal(m)}
    consts = {k: np.asarray(v, np.float32) for k, v in consts.items()}
    pad = kernel // 2
    nodes = [Node("BatchNormalization", ["x", "gamma", "beta", "mean", "var"], ["bn"], {"epsilon": 1e-5}, name="bn"),
             Node("Relu", ["bn"], ["r"], name="relu"),
             Node("Conv", ["r", "w", "b"], ["y"], {"kernel_shape": [kernel, kernel], "pads": [pad] * 4}, name="conv")]
    outputs = {"y": (n, m, h, w), **({"r": (n, c, h, w)} if extra_reader else {})}
    graph = build(nodes, {"x": x}, consts, outputs)
    for name in ("bn", "r"):
        graph.values.setdefault(name, Value(name, DType.FLOAT32, (n, c, h, w)))
    return graph, {"x": x}
