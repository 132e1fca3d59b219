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

import dataclasses

import numpy as np

from litert.ir import DType, Graph, Node, QuantParams

from .nhwc import NHWC_DOMAIN
from .types import ActivationType

#: (domain, op) of the products MindSpore Lite runs on int8 (Conv2DFusion, MatMulFusion)
PRODUCTS = {(NHWC_DOMAIN, "Conv"), ("", "Gemm"), ("", "MatMul")}
#: the integer element types of activation tensors
_INT8 = (np.int8, np.uint8)


def activation_params(graph: Graph, node: Node) -> QuantParams | None:
    """Per-tensor constant (scale, zero point) of an activation QuantizeLinear/DequantizeLinear, else None."""
    if node.domain or node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.inputs) < 2:
        return None
    data = graph.values.get(node.inputs[0])
    if data is None or data.const is not None:
        return None
    scale = graph.values.get(node.inputs[1])
    zero = graph.values.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if scale is None or scale.const is None or scale.const.size != 1:
        return None
    if zero is not None and (zero.const is None or zero.const.size != 1 or zero.const.dtype.type not in _INT8):
        return None
    zp = np.zeros(1, np.int32) if zero is None or zero.const is None else zero.const.reshape(1).astype(np.int32)
    return QuantParams(scale.const.reshape(1).astype(np.float32), zp)


def _activation_kind(graph: Graph, node: Node) -> int | None:
    """The ``activation_type`` a Relu / Clip(0, 6) / Clip(0, inf) fuses as, else None."""
    if node.domain:
        return None
    if node.op_type == "Relu":
        return ActivationType.RELU
    if node.op_type != "Clip":
        return None
    bounds = []
    for k in (1, 2):
        value = graph.values.get(node.inputs[k]) if len(node.inputs) > k and node.inputs[k] else None
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
    _through_data_movement(graph)


#: ops that only move int8 values (the layout Transposes of the channels-last rewrite among them): their output
#: has the input's parameters
_MOVES = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _through_data_movement(graph: Graph) -> None:
    for node in graph.nodes:  # topological order: a chain of moves is covered in one sweep
        if node.domain or node.op_type not in _MOVES or not node.inputs or not node.outputs:
            continue
        source, out = graph.values.get(node.inputs[0]), graph.values.get(node.outputs[0])
        if source is None or out is None or source.quant is None or source.const is not None \
                or source.dtype not in (DType.INT8, DType.UINT8) or out.quant is not None:
            continue
        if np.size(source.quant.scale) == 1:
            out.quant = source.quant


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
        kind = _activation_kind(graph, users[0])
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
    shape = [1] * value.const.ndim
    if value.quant.axis is not None and np.size(value.quant.scale) > 1:
        shape[value.quant.axis] = -1
    scale = np.asarray(value.quant.scale, np.float64).reshape(shape)
    zero = np.asarray(value.quant.zero_point, np.float64).reshape(shape)
    data = ((value.const.astype(np.float64) - zero) * scale).astype(np.float32)
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
    """litert's (and onnxruntime's) dynamic quantisation of a MatMul/Gemm, ``DynamicQuantizeLinear(x) ->
    MatMulInteger(xq, w, xz, 0) -> Cast(float) -> Mul(., x_scale * w_scale) [-> Add(bias)]``, becomes one
    :data:`DYNAMIC_DOMAIN` ``MatMul`` node: MindSpore Lite's ``DynamicQuant`` + ``QUANT_DYNAMIC`` MatMulFusion."""
    producers = {o: n for n in graph.nodes for o in n.outputs if o}
    readers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    replaced: dict[int, Node | None] = {}
    for node in graph.nodes:
        if node.domain or node.op_type != "MatMulInteger" or len(node.inputs) < 4:
            continue
        chain = _dynamic_chain(graph, node, producers, readers)
        if chain is None:
            continue
        nodes, x, weight, scale, bias, out = chain
        w = graph.values[weight]
        assert w.const is not None
        name = graph.unique_name(f"{weight}_dynamic")
        graph.values[name] = dataclasses.replace(w, name=name, quant=QuantParams(
            np.ravel(scale).astype(np.float32), np.zeros(np.size(scale), np.int32), axis=w.const.ndim - 1))
        fused = Node("MatMul", [x, name] + ([bias] if bias else []), [out], {}, name=node.name, domain=DYNAMIC_DOMAIN)
        for n in nodes:
            replaced[id(n)] = None
        replaced[id(nodes[-1])] = fused
    kept: list[Node] = []
    for n in graph.nodes:
        new = replaced.get(id(n), n)
        if new is not None:
            kept.append(new)
    graph.nodes = kept


def _dynamic_chain(graph: Graph, mm: Node, producers: dict[str, Node], readers: dict[str, list[Node]]):
    """(nodes in order, x, int8 weight, weight scales, bias or None, output) of one dynamic product, else None."""
    def only_reader(name: str) -> Node | None:
        users = readers.get(name, [])
        return users[0] if len(users) == 1 and name not in graph.outputs else None

    dql = producers.get(mm.inputs[0])
    weight = graph.values.get(mm.inputs[1])
    w_zero = graph.values.get(mm.inputs[3])
    if dql is None or dql.op_type != "DynamicQuantizeLinear" or dql.domain or len(dql.outputs) != 3 \
            or mm.inputs[2] != dql.outputs[2] or readers.get(dql.outputs[2], []) != [mm] or weight is None or weight.const is None \
            or weight.const.dtype != np.int8 or weight.const.ndim != 2 or w_zero is None or w_zero.const is None \
            or np.any(w_zero.const != 0) or len(readers.get(dql.outputs[0], [])) != 1:
        return None
    cast = only_reader(mm.outputs[0])
    if cast is None or cast.op_type != "Cast" or int(cast.attrs.get("to", 0)) != DType.FLOAT32.value:
        return None
    rescale = only_reader(cast.outputs[0])
    if rescale is None or rescale.op_type != "Mul":
        return None
    scale_name = rescale.inputs[1] if rescale.inputs[0] == cast.outputs[0] else rescale.inputs[0]
    scale_mul = producers.get(scale_name)
    if scale_mul is None or scale_mul.op_type != "Mul" or dql.outputs[1] not in scale_mul.inputs \
            or readers.get(dql.outputs[1], []) != [scale_mul] or len(readers.get(scale_name, [])) != 1:
        return None
    w_scale = graph.values.get(next(i for i in scale_mul.inputs if i != dql.outputs[1]))
    if w_scale is None or w_scale.const is None or np.size(w_scale.const) not in (1, weight.const.shape[1]):
        return None
    nodes, out, bias = [dql, mm, cast, scale_mul, rescale], rescale.outputs[0], None
    add = only_reader(out)
    if add is not None and add.op_type == "Add" and not add.domain:
        other = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
        value = graph.values.get(other)
        if value is not None and value.const is not None and value.const.ndim == 1 \
                and value.const.size == weight.const.shape[1]:
            nodes.append(add)
            out, bias = add.outputs[0], other
    scale = np.broadcast_to(np.ravel(w_scale.const), (weight.const.shape[1],))
    return nodes, dql.inputs[0], weight.name, scale, bias, out


__all__ = ["DYNAMIC_DOMAIN", "activation_params", "dynamic_products", "integer_products"]
