"""Small IR graphs built by hand, for tests that need no frontend."""
from __future__ import annotations

import numpy as np

from litert.ir import DType, Graph, Model, Node, Value
from litert.schema import schemas


def make_model(nodes: list[Node], inputs: dict[str, tuple], outputs: list[str], consts: dict[str, np.ndarray] | None = None) -> Model:
    graph = Graph(nodes=nodes, inputs=list(inputs), outputs=outputs)
    for name, shape in inputs.items():
        graph.values[name] = Value(name, DType.FLOAT32, shape)
    for name, array in (consts or {}).items():
        graph.values[name] = Value(name, DType.from_numpy(array.dtype), array.shape, const=array)
    for i, node in enumerate(nodes):
        node.name = node.name or f"{node.op_type}_{i}"
        schemas().complete_attrs(node)
        for out in node.outputs:
            graph.value(out)
    return Model(graph, {"": 21})


def mixed_model(seed: int = 0) -> tuple[Model, np.ndarray]:
    """Conv -> Relu -> Add -> Sigmoid -> Transpose -> Mul: the toy backend takes
    the Relu/Add/Sigmoid/Mul and refuses Conv and Transpose."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    nodes = [
        Node("Conv", ["x", "w"], ["c"], {"pads": [1, 1, 1, 1]}),
        Node("Relu", ["c"], ["r"]),
        Node("Add", ["r", "bias"], ["a"]),
        Node("Sigmoid", ["a"], ["s"]),
        Node("Transpose", ["s"], ["t"], {"perm": [0, 1, 3, 2]}),
        Node("Mul", ["t", "t"], ["y"]),
    ]
    model = make_model(nodes, {"x": (1, 3, 8, 8)}, ["y"], {"w": w, "bias": bias})
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    return model, x


def reference_mixed(model_seed: int, x: np.ndarray) -> np.ndarray:
    """The mixed model's output computed with plain numpy."""
    rng = np.random.default_rng(model_seed)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # 1,3,8,8,3,3
    conv = np.einsum("bchwij,ocij->bohw", windows, w)
    s = 1 / (1 + np.exp(-(np.maximum(conv, 0) + bias)))
    t = s.transpose(0, 1, 3, 2)
    return (t * t).astype(np.float32)
