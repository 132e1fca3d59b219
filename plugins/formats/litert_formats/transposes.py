"""Layout changes as explicit Transposes, then sunk and cancelled.

``.ms``, TFLite and TensorFlow graphs run convolutions, pooling (and, in
``.ms``, LRN) channels-last (NHWC) while the IR's operators are ONNX's
(channels-first); their readers and the ``.ms`` writer share this module.
Both directions are handled the same way: every layout-sensitive operator is wrapped
in a pair of Transposes (:func:`wrap`), and :func:`optimize` then pushes each
Transpose down through elementwise operators, Concat and single-axis
operators, merging it with the next Transpose it meets.  Between two
convolutions the pairs cancel, so only the Transposes the data really needs
remain (at a channels-last graph input, before a Flatten...).  :func:`to_channels_last` is the writer's
direction: the operators a format runs channels-last become nodes of its marker domain, wrapped so.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from litert.ir import Graph, Layout, Node, Value

from .reading import malformed_as_load_error

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)

#: elementwise operators whose first input is the data and whose other inputs are scalars
UNARY = {"Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "HardSwish", "Softplus",
         "Softsign", "Gelu", "Erf", "Exp", "Log", "Sqrt", "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Reciprocal",
         "Identity", "Cast", "Not", "Sin", "Cos", "Mish", "ThresholdedRelu", "Celu", "IsNaN", "IsInf"}
#: elementwise operators that broadcast all their inputs (numpy rules)
BROADCAST = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod", "Sum", "Mean", "Equal", "Less", "Greater",
             "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "PRelu", "BitShift"}
#: elementwise when per tensor (a scalar scale): quantised graphs keep their Transposes cancellable
QUANTIZE_OPS = {"QuantizeLinear", "DequantizeLinear"}
#: operators with one ``axis`` attribute over an input of the output's rank
AXIS_ATTR = {"Concat", "Softmax", "LogSoftmax", "Hardmax"}


def swap_pads(pads) -> list[int]:
    """MindSpore's 2-D pads [top, bottom, left, right] <-> ONNX's [top, left, bottom, right] (its own inverse);
    missing ones are 0."""
    p = ([int(v) for v in pads] if pads is not None else []) + [0, 0, 0, 0]
    return [p[0], p[2], p[1], p[3]]


def swap_last_axes(rank: int) -> list[int]:
    """The perm that swaps the last two axes of a rank-``rank`` tensor (a matrix transposed, batch axes kept)."""
    return list(range(rank - 2)) + [rank - 1, rank - 2]


def compose(first, second) -> tuple[int, ...]:
    """The perm of ``Transpose(Transpose(x, first), second)``."""
    return tuple(first[i] for i in second)


def inverse(perm) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


def is_identity(perm) -> bool:
    return tuple(perm) == tuple(range(len(perm)))


def transpose_node(graph: Graph, x: str, perm, out: str | None = None, name: str = "") -> Node:
    """A Transpose node reading ``x`` (its output created when ``out`` is None)."""
    out = out or graph.unique_name(f"{x}_t")
    graph.value(out)
    return Node("Transpose", [x], [out], {"perm": [int(p) for p in perm]}, name=name or f"{out}_transpose")


def wrap(graph: Graph, node: Node, data_inputs: list[int], perm_in, perm_out, outputs: list[int] | None = None) -> list[Node]:
    """``node`` reading ``Transpose(x, perm_in)`` for each data input and writing through ``Transpose(., perm_out)``."""
    nodes = []
    for i in data_inputs:
        t = transpose_node(graph, node.inputs[i], perm_in, name=f"{node.name}_in{i}_transpose")
        nodes.append(t)
        node.inputs[i] = t.outputs[0]
    nodes.append(node)
    for i in (range(len(node.outputs)) if outputs is None else outputs):
        final = node.outputs[i]
        inner = graph.unique_name(f"{final}_{'x'}")
        node.outputs[i] = inner
        nodes.append(transpose_node(graph, inner, perm_out, final, name=f"{node.name}_out{i}_transpose"))
    return nodes


def per_tensor(graph: Graph, node: Node) -> bool:
    """A Quantize/DequantizeLinear with one constant scale: elementwise, so Transposes move through it."""
    scale = graph.values.get(node.inputs[1]) if len(node.inputs) > 1 else None
    return scale is not None and scale.const is not None and np.asarray(scale.const).size == 1


class _Optimizer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.changes = 0

    def run(self, max_sweeps: int = 100) -> int:
        for _ in range(max_sweeps):
            if not self.sweep():
                break
        self.dead_code()
        return self.changes

    def sweep(self) -> bool:
        """One pass in topological order; rewritten nodes take the old one's place, so a
        Transpose sunk at one node is seen by the next ones in the same sweep."""
        producers: dict[str, Node] = {}
        result: list[Node] = []
        changed = False
        for node in self.graph.nodes:
            new = None
            if not node.domain and not any(True for _ in node.subgraphs()):
                if node.op_type == "Transpose":
                    new = self.merge(node, producers)
                elif node.op_type in UNARY or (node.op_type in QUANTIZE_OPS and per_tensor(self.graph, node)):
                    new = self.sink(node, producers, [0])
                elif node.op_type in BROADCAST:
                    new = self.sink(node, producers, list(range(len(node.inputs))))
                elif node.op_type in AXIS_ATTR:
                    new = self.sink_axis(node, producers)
            emitted = [node] if new is None else new
            if new is not None:
                changed = True
                self.changes += 1
            for n in emitted:
                result.append(n)
                producers.update((o, n) for o in n.outputs if o)
        self.graph.nodes = result
        return changed

    def _transpose_of(self, name: str, producers) -> tuple | None:
        node = producers.get(name)
        if node is None or node.op_type != "Transpose" or node.domain or node.attrs.get("perm") is None:
            return None
        return node.inputs[0], tuple(int(p) for p in node.attrs["perm"])

    def merge(self, node: Node, producers) -> list[Node] | None:
        inner = self._transpose_of(node.inputs[0], producers)
        if inner is None:
            return None
        x, first = inner
        if len(first) != len(node.attrs["perm"]):
            return None  # ranks disagree: the model is wrong, shape inference will say where
        perm = compose(first, node.attrs["perm"])
        if is_identity(perm):
            out = node.outputs[0]
            if out in self.graph.outputs:
                return [Node("Identity", [x], [out], name=node.name)]
            self.replace_uses(out, x)
            return []
        return [Node("Transpose", [x], list(node.outputs), {"perm": list(perm)}, name=node.name)]

    def replace_uses(self, old: str, new: str) -> None:
        for n in self.graph.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]

    def sink(self, node: Node, producers, candidates: list[int]) -> list[Node] | None:
        """``op(T(x), T(y), c)`` -> ``T(op(x, y, c'))`` with ``c'`` the constant transposed back."""
        if len([o for o in node.outputs if o]) != 1:
            return None
        perm = None
        plan: dict[int, str] = {}
        for i in candidates:
            name = node.inputs[i]
            if not name:
                continue
            found = self._transpose_of(name, producers)
            if found is not None:
                if perm is not None and found[1] != perm:
                    return None
                perm = found[1]
                plan[i] = found[0]
        if perm is None:
            return None
        back = inverse(perm)
        inputs = list(node.inputs)
        for i in candidates:
            name = node.inputs[i]
            if not name or i in plan:
                if i in plan:
                    inputs[i] = plan[i]
                continue
            value = self.graph.values.get(name)
            if value is None or value.const is None or value.const.ndim > len(perm):
                return None
            if value.const.size == 1 and value.const.ndim == 0:
                continue  # a scalar broadcasts the same either way
            full = value.const.reshape((1,) * (len(perm) - value.const.ndim) + value.const.shape)
            moved = np.ascontiguousarray(full.transpose(back))
            new_name = self.graph.unique_name(f"{name}_t")
            self.graph.values[new_name] = Value(new_name, value.dtype, tuple(moved.shape), const=moved, quant=value.quant)
            inputs[i] = new_name
        out = node.outputs[0]
        inner = self.graph.unique_name(f"{out}_nt")
        moved_node = Node(node.op_type, inputs, [inner], dict(node.attrs), name=node.name, domain=node.domain)
        return [moved_node, transpose_node(self.graph, inner, perm, out, name=f"{node.name}_transpose")]

    def sink_axis(self, node: Node, producers) -> list[Node] | None:
        """``Concat(T(x), T(y), axis=a)`` -> ``T(Concat(x, y, axis=perm[a]))`` (same for Softmax...)."""
        found: list = [self._transpose_of(n, producers) for n in node.inputs]
        if not found or any(f is None for f in found) or len({f[1] for f in found}) != 1:
            return None
        perm = found[0][1]
        axis = int(node.attrs.get("axis", 1 if node.op_type == "Concat" else -1))
        axis = axis + len(perm) if axis < 0 else axis
        if not 0 <= axis < len(perm):
            return None
        out = node.outputs[0]
        inner = self.graph.unique_name(f"{out}_nt")
        attrs = dict(node.attrs)
        attrs["axis"] = int(perm[axis])
        moved = Node(node.op_type, [f[0] for f in found], [inner], attrs, name=node.name, domain=node.domain)
        return [moved, transpose_node(self.graph, inner, perm, out, name=f"{node.name}_transpose")]

    def dead_code(self) -> None:
        live = set(self.graph.outputs)
        kept = []
        for node in reversed(self.graph.nodes):
            if any(o in live for o in node.outputs if o):
                kept.append(node)
                live.update(n for n in node.inputs if n)
                for sub in node.subgraphs():
                    live.update(sub.outer_references())
        kept.reverse()
        self.graph.nodes = kept
        live.update(self.graph.inputs)
        for name in [n for n, v in self.graph.values.items() if n not in live]:
            del self.graph.values[name]


def optimize(graph: Graph) -> int:
    """Sink and cancel the Transposes of ``graph`` (in place); the number of rewrites."""
    return _Optimizer(graph).run()


def hoist_above_quantize(graph: Graph) -> None:
    """``Quantize/DequantizeLinear (per tensor) -> Transpose`` becomes ``Transpose -> Quantize/DequantizeLinear``
    when the Transpose is its only reader (in place): a channels-last int8 input then reaches its convolution as
    ``DequantizeLinear -> Conv``, the group the QDQ folding turns into an integer kernel."""
    changed = True
    while changed:
        changed = False
        producers = {o: n for n in graph.nodes for o in n.outputs if o}
        readers: dict[str, int] = {}
        for node in graph.nodes:
            for name in node.inputs:
                readers[name] = readers.get(name, 0) + 1
        for node in graph.nodes:
            if node.op_type != "Transpose" or node.domain:
                continue
            q = producers.get(node.inputs[0])
            if q is None or q.domain or q.op_type not in QUANTIZE_OPS \
                    or readers.get(q.outputs[0], 0) != 1 or q.outputs[0] in graph.outputs \
                    or not per_tensor(graph, q):
                continue
            source, middle, final = q.inputs[0], q.outputs[0], node.outputs[0]
            node.inputs[0], node.outputs[0] = source, middle  # the Transpose now moves the source's type
            q.inputs[0], q.outputs[0] = middle, final
            moved = graph.value(middle)
            moved.dtype = graph.values[source].dtype if source in graph.values else None
            moved.shape = None  # inferred again
            graph.nodes.remove(q)
            graph.nodes.insert(graph.nodes.index(node) + 1, q)
            changed = True
            break


def optimize_loaded(graph: Graph, path: object) -> None:
    """:func:`optimize` on a graph just read from the file ``path``: a failure is the file's inconsistent layout."""
    with malformed_as_load_error(f"{path}: inconsistent layout changes"):
        optimize(graph)


def _nhwc_shape(shape):
    return None if shape is None or len(shape) != 4 else tuple(shape[i] for i in NCHW_TO_NHWC)


def _rank(graph: Graph, name: str) -> int | None:
    value = graph.values.get(name)
    return None if value is None or value.shape is None else len(value.shape)


def to_channels_last(graph: Graph, data_inputs: Callable[[Node, Graph], list[int] | None], domain: str,
                     nhwc_inputs: bool) -> None:
    """Rewrite ``graph`` (shapes inferred) in place for a format that runs some operators on NHWC data: each
    node whose ``data_inputs`` (the positions of its data; None: not channels-last) are all 4-D becomes the same
    node in the marker ``domain``, reading and writing NHWC between Transposes to and from NCHW; with
    ``nhwc_inputs`` the 4-D graph inputs become NHWC too.  The Transposes are then sunk and cancelled."""
    nodes: list[Node] = []
    if nhwc_inputs:
        for name in graph.inputs:
            value = graph.values[name]
            if value.shape is None or len(value.shape) != 4 or value.layout is Layout.NHWC:
                continue
            internal = graph.unique_name(f"{name}_nchw")
            for node in graph.nodes:
                node.inputs = [internal if i == name else i for i in node.inputs]
            graph.outputs = [internal if o == name else o for o in graph.outputs]
            graph.values[internal].dtype = value.dtype
            graph.values[internal].shape = value.shape
            value.shape = _nhwc_shape(value.shape)
            value.layout = Layout.NHWC
            nodes.append(transpose_node(graph, name, NHWC_TO_NCHW, internal, name=f"{name}_to_nchw"))
    for node in graph.nodes:
        data = data_inputs(node, graph)
        if data is None or not all(_rank(graph, node.inputs[i]) == 4 for i in data):
            nodes.append(node)
            continue
        old_shapes = [graph.values[o].shape if o in graph.values else None for o in node.outputs]
        marker = Node(node.op_type, list(node.inputs), list(node.outputs), dict(node.attrs), name=node.name,
                      domain=domain)
        wrapped = wrap(graph, marker, data, NCHW_TO_NHWC, NHWC_TO_NCHW, outputs=[0])
        for out, shape in zip(marker.outputs[:1], old_shapes[:1]):
            graph.values[out].shape = _nhwc_shape(shape)
            graph.values[out].dtype = graph.values[node.inputs[0]].dtype
            graph.values[out].layout = Layout.NHWC
        nodes.extend(wrapped)
    graph.nodes = nodes
    optimize(graph)
