"""Full quantisation (QDQ form in the IR) -> MindSpore Lite's integer layout in ``.ms``.

litert's quantiser (and onnxruntime's) writes a fully quantised product as
``QuantizeLinear -> DequantizeLinear -> Conv/Gemm/MatMul (DequantizeLinear weights and int32 bias)
[-> Relu/Clip] -> QuantizeLinear -> DequantizeLinear``.  MindSpore Lite stores the same thing as int8
tensors carrying their ``QuantParam``: the product node (CNode ``quantType`` QUANT_ALL) reads an int8
activation, an int8 weight (per output channel) and an int32 bias, and writes an int8 activation, with
its ReLU/ReLU6 fused as ``activation_type``; ``QuantDTypeCast`` nodes convert between float32 and int8
where an integer node meets a float one (the graph's inputs and outputs, the layers that stay float).

:func:`integer_products` runs on the prepared (channels-last) graph, after the constant
``DequantizeLinear`` of weights and biases became integer constants with their ``QuantParams``
(:func:`litert.passes.qdq.quantised_constants`):

- a product whose activation comes from an activation ``DequantizeLinear`` and whose output (through an
  optional Relu / Clip(0, 6)) goes only to a ``QuantizeLinear`` becomes an integer node: it reads the
  int8 tensor and writes the ``QuantizeLinear``'s int8 output itself;
- every other product reading an int32 bias gets the float bias back (a float kernel cannot read it),
  and one that reads an activation ``DequantizeLinear`` (a fully quantised graph) but cannot be integer
  (its output is a graph output the quantiser left float) float weights too: MindSpore Lite 2.0 fails to
  prepare a float MatMul over an int8 weight ("pack const-matrix b failed");
- the remaining activation ``QuantizeLinear`` / ``DequantizeLinear`` nodes are written as
  ``QuantDTypeCast`` (:func:`.write_ops.quantize_cast`); their int8 tensors carry the parameters.
"""
from __future__ import annotations

import numpy as np

from litert.ir import DType, Graph, Node, QuantParams
from litert.passes.qdq import activation_params, quant_through_moves
from litert.quant.rewrite import dynamic_chains

from .nhwc import NHWC_DOMAIN
from .types import ActivationType

#: (domain, op) of the products MindSpore Lite runs on int8 (Conv2DFusion, MatMulFusion)
PRODUCTS = {(NHWC_DOMAIN, "Conv"), ("", "Gemm"), ("", "MatMul")}


def activation_kind(graph: Graph, node: Node) -> int | None:
    """The ``activation_type`` a Relu / Clip(0, 6) / Clip(0) (no max) fuses as into the product before it,
    else None (a Clip with a computed bound among them)."""
    if node.domain:
        return None
    if node.op_type == "Relu":
        return ActivationType.RELU
    if node.op_type != "Clip":
        return None
    bounds = []
    for k in (1, 2):
        name = node.inputs[k] if len(node.inputs) > k else ""
        value = graph.values.get(name) if name else None
        if name and (value is None or value.const is None or value.const.size != 1):
            return None  # a computed bound
        bounds.append(None if value is None or value.const is None else float(value.const.reshape(-1)[0]))
    if bounds[0] == 0.0 and bounds[1] == 6.0:
        return ActivationType.RELU6
    if bounds[0] == 0.0 and bounds[1] is None:
        return ActivationType.RELU
    return None


def _quantised_const(graph: Graph, name: str, dtype_kind: str = "iu") -> bool:
    value = graph.values.get(name) if name else None
    return value is not None and value.const is not None and value.quant is not None \
        and value.const.dtype.kind in dtype_kind


def integer_products(graph: Graph) -> None:
    """Rewrite ``graph`` in place (see the module docstring)."""
    producers = {o: n for n in graph.nodes for o in n.outputs if o}
    consumers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node)
    for node in graph.nodes:  # the int8 outputs of activation QuantizeLinear nodes carry their parameters
        params = activation_params(graph, node)
        if params is not None and node.op_type == "QuantizeLinear":
            graph.values[node.outputs[0]].quant = params
    dropped: set[int] = set()
    for node in graph.nodes:
        if (node.domain, node.op_type) not in PRODUCTS or len(node.inputs) < 2 \
                or not _quantised_const(graph, node.inputs[1]):
            continue
        if _make_integer(graph, node, producers, consumers, dropped):
            continue
        _float_const(graph, node, 2)
        dq = producers.get(node.inputs[0])
        if dq is not None and activation_params(graph, dq) is not None:
            # in a fully quantised graph but not integer (its output is a graph output, unquantised):
            # float weights, as MindSpore Lite 2.0 cannot pack an int8 weight for a float MatMul
            _float_const(graph, node, 1)
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]
    quant_through_moves(graph)


def _make_integer(graph: Graph, node: Node, producers: dict[str, Node], consumers: dict[str, list[Node]],
                  dropped: set[int]) -> bool:
    """``node`` reads the int8 tensor before its input's DequantizeLinear and writes its output's
    QuantizeLinear output directly; False (nothing changed) when the groups are not there."""
    dq = producers.get(node.inputs[0])
    if dq is None or dq.op_type != "DequantizeLinear" or activation_params(graph, dq) is None:
        return False
    out = node.outputs[0]
    tail: Node | None = None
    act = int(node.attrs.get("ms_activation", ActivationType.NO_ACTIVATION))
    users = consumers.get(out, [])
    if len(users) == 1 and act == ActivationType.NO_ACTIVATION and out not in graph.outputs:
        kind = activation_kind(graph, users[0])
        if kind is not None:
            tail, act = users[0], kind
            out = tail.outputs[0]
            users = consumers.get(out, [])
    if len(users) != 1 or out in graph.outputs or users[0].op_type != "QuantizeLinear" \
            or activation_params(graph, users[0]) is None:
        return False
    quantize = users[0]
    node.inputs[0] = dq.inputs[0]
    node.outputs = [quantize.outputs[0]]
    node.attrs["ms_activation"] = act
    dropped.add(id(quantize))
    if tail is not None:
        dropped.add(id(tail))
    if all(id(c) in dropped or c is node for c in consumers.get(dq.outputs[0], [])) \
            and dq.outputs[0] not in graph.outputs:
        dropped.add(id(dq))
    return True


def _float_const(graph: Graph, node: Node, index: int) -> None:
    """Input ``index`` of ``node`` (an integer constant with QuantParams) read as float32."""
    if len(node.inputs) <= index or not _quantised_const(graph, node.inputs[index]):
        return
    value = graph.values[node.inputs[index]]
    assert value.const is not None and value.quant is not None
    data = value.quant.dequantize(value.const)
    name = graph.unique_name(f"{node.inputs[index]}_float")
    graph.values[name].const = data
    graph.values[name].dtype = DType.FLOAT32
    graph.values[name].shape = tuple(data.shape)
    node.inputs[index] = name


# ---------------------------------------------------------------- dynamic quantisation

#: the marker op of a dynamically quantised product: inputs (activation, int8 weight [K, N] with its per-column
#: QuantParams, optional float bias); written as DynamicQuant + MatMulFusion, both QUANT_DYNAMIC
DYNAMIC_DOMAIN = "litert.ms.dynamic"


def dynamic_products(graph: Graph) -> None:
    """Each dynamically quantised MatMul/Gemm (:func:`litert.quant.rewrite.dynamic_chains`: litert's and
    onnxruntime's) becomes one :data:`DYNAMIC_DOMAIN` ``MatMul`` node: MindSpore Lite's ``DynamicQuant`` +
    ``QUANT_DYNAMIC`` MatMulFusion."""
    replaced: dict[int, Node | None] = {}
    for chain in dynamic_chains(graph):
        w = graph.values[chain.weight]
        assert w.const is not None
        name = graph.unique_name(f"{chain.weight}_dynamic")
        graph.values[name] = w.replace(name=name, quant=QuantParams(
            np.ravel(chain.scale).astype(np.float32), np.zeros(np.size(chain.scale), np.int32), axis=w.const.ndim - 1))
        inputs = [chain.activation, name] + ([chain.bias] if chain.bias else [])
        fused = Node("MatMul", inputs, [chain.output], {}, name=chain.nodes[1].name, domain=DYNAMIC_DOMAIN)
        for n in chain.nodes:
            replaced[id(n)] = None
        replaced[id(chain.nodes[-1])] = fused
    kept: list[Node] = []
    for n in graph.nodes:
        new = replaced.get(id(n), n)
        if new is not None:
            kept.append(new)
    graph.nodes = kept


__all__ = ["DYNAMIC_DOMAIN", "activation_kind", "dynamic_products", "integer_products"]
