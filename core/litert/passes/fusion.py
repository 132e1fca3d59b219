"""Operator fusion: BatchNorm folded into Conv/Gemm, activations fused; and :func:`unfuse`, the way back.

Fused operators use onnxruntime's contrib names (``com.microsoft`` FusedConv
and FusedGemm), so an optimised model written back to ONNX still runs in
onnxruntime.  A writer of a format that has no such operators (``.ms``)
splits them back into ONNX ones with :func:`unfuse`.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..activations import ACTIVATIONS, fusable
from ..errors import UnsupportedOperatorError
from ..ir import DType, Graph, Model, Node, Value, constant_array
from .base import Pass, PassContext, PassResult, const_of, has_op, read_by_subgraph, single_consumer

CONTRIB = "com.microsoft"


def _read_once(graph: Graph, consumers: dict[str, list[Node]], op_types: tuple[str, ...]) -> Iterator[tuple[Node, Node]]:
    """Each default-domain node of ``op_types`` whose first output one node reads (and is no graph output), with
    that reader: the start of every pattern fused here."""
    for node in graph.nodes:
        if node.domain != "" or node.op_type not in op_types:
            continue
        reader = single_consumer(graph, node.outputs[0], consumers)
        if reader is not None:
            yield node, reader


def _fuse_activation(model: Model, node: Node, act: Node, params: list[float]) -> None:
    """Make the Conv or Gemm ``node`` the com.microsoft FusedConv/FusedGemm that also computes ``act`` (whose
    output it takes over); FusedGemm carries one parameter, ``activation_alpha``."""
    node.domain = CONTRIB
    node.op_type = "Fused" + node.op_type
    node.attrs["activation"] = act.op_type
    if params and node.op_type == "FusedConv":
        node.attrs["activation_params"] = params
    elif params:
        node.attrs["activation_alpha"] = params[0]
    node.outputs = [act.outputs[0]]
    model.opsets.setdefault(CONTRIB, 1)


class _AbsorbReader(Pass):
    """A Conv or Gemm takes over the one node that reads its output (which then leaves the graph)."""

    def absorb(self, model: Model, node: Node, reader: Node, consumers: dict[str, list[Node]]) -> str | None:
        """Rewrite ``node`` to do ``reader``'s work too and return the change's description, or None to leave both."""
        raise NotImplementedError

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        graph = model.graph
        result = PassResult(self.name)
        if not has_op(graph, "Conv", "Gemm"):
            return result  # nothing to absorb into: no consumer map for a long graph without them
        consumers = graph.consumers()
        removed = set()
        for node, reader in _read_once(graph, consumers, ("Conv", "Gemm")):
            detail = self.absorb(model, node, reader, consumers)
            if detail is not None:
                removed.add(id(reader))
                result.record(detail)
        graph.nodes = [n for n in graph.nodes if id(n) not in removed]
        return result


class BatchNormFolding(_AbsorbReader):
    """Conv(x, W, b) -> BatchNormalization  ==>  Conv(x, W', b')."""

    name = "batchnorm_folding"

    def absorb(self, model: Model, node: Node, bn: Node, consumers: dict[str, list[Node]]) -> str | None:
        graph = model.graph
        if bn.op_type != "BatchNormalization" or bn.domain != "" or len([o for o in bn.outputs if o]) != 1:
            return None
        params = [p for p in (const_of(graph, n) for n in bn.inputs[1:5]) if p is not None]
        weight = const_of(graph, node.inputs[1])
        if len(params) != 4 or weight is None or weight.dtype != np.float32:
            return None
        if node.op_type == "Gemm" and (node.attrs.get("transA", 0) or weight.ndim != 2):
            return None
        bias = const_of(graph, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if len(node.inputs) > 2 and node.inputs[2] and bias is None:
            return None
        scale, offset, mean, var = (p.astype(np.float64) for p in params)
        factor = scale / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
        # the weights are scaled in float32 (the factor rounded once more, 6e-8 relative), not through a
        # float64 copy of every weight: that copy was most of a ResNet-50's load time in this pass
        w_factor = factor.astype(np.float32)
        if node.op_type == "Conv":
            per_row = w_factor.reshape(-1, *([1] * (weight.ndim - 1)))
        elif node.attrs.get("transB", 0):
            per_row = w_factor[:, None]
        else:
            per_row = w_factor[None, :]
        new_w = np.multiply(weight, per_row, out=constant_array(weight.shape, np.float32))
        beta = node.attrs.get("beta", 1.0) if node.op_type == "Gemm" else 1.0
        new_b = (0.0 if bias is None else bias.astype(np.float64) * beta) - mean
        new_b = new_b * factor + offset
        w_name = graph.unique_name(f"{node.inputs[1]}_bnfolded")
        b_name = graph.unique_name(f"{node.name}_bias_bnfolded")
        graph.values[w_name] = Value(w_name, DType.FLOAT32, tuple(new_w.shape), const=new_w.astype(np.float32, copy=False))
        graph.values[b_name] = Value(b_name, DType.FLOAT32, tuple(new_b.shape), const=new_b.astype(np.float32))
        if node.op_type == "Gemm":
            node.attrs["beta"] = 1.0  # the old beta is inside b'
        node.inputs = [node.inputs[0], w_name, b_name]
        node.outputs = [bn.outputs[0]]
        return f"{bn.name} into {node.name}"


class ActivationFusion(_AbsorbReader):
    """Conv/Gemm followed by an activation ==> com.microsoft FusedConv/FusedGemm."""

    name = "activation_fusion"

    def absorb(self, model: Model, node: Node, act: Node, consumers: dict[str, list[Node]]) -> str | None:
        graph = model.graph
        spec = fusable(act)
        if spec is None or read_by_subgraph(consumers, node.outputs[0]):
            return None
        if node.op_type == "Gemm" and len(spec.params) > 1:
            return None  # FusedGemm carries one parameter (activation_alpha) here
        params = spec.params_of(act, lambda name: const_of(graph, name))
        if params is None:
            return None
        _fuse_activation(model, node, act, params)
        return f"{node.name}+{act.op_type}"


class ResidualFusion(Pass):
    """Conv -> Add/Sum(residual) [-> activation]  ==>  com.microsoft FusedConv
    with the residual as its ``Z`` input (``act(conv(x) + b + Z)``), the
    pattern that closes every ResNet block (and, without the activation,
    every MobileNetV2 bottleneck).  Only when the residual has the conv
    output's exact shape (FusedConv's Z does not broadcast)."""

    name = "residual_fusion"

    def run(self, model: Model, ctx: PassContext) -> PassResult:
        from ..schema.inference import infer_shapes

        graph = model.graph
        result = PassResult(self.name)
        if not has_op(graph, "Conv"):
            return result  # before inferring shapes: a long graph without a Conv has nothing to fuse
        infer_shapes(graph)  # the shape check below needs them; known shapes are kept
        consumers = graph.consumers()
        removed: set[int] = set()
        moved: dict[int, Node] = {}
        for node, add in _read_once(graph, consumers, ("Conv",)):
            out = node.outputs[0]
            if add.domain != "" or add.op_type not in ("Add", "Sum") or len(add.inputs) != 2:
                continue
            if id(add) in removed:
                continue
            if read_by_subgraph(consumers, out) or read_by_subgraph(consumers, add.outputs[0]):
                continue
            residual = add.inputs[1] if add.inputs[0] == out else add.inputs[0]
            if residual == out or not _same_shape(graph, residual, out):
                continue
            act = single_consumer(graph, add.outputs[0], consumers)
            spec = fusable(act) if act is not None else None
            params = spec.params_of(act, lambda name: const_of(graph, name)) if act is not None and spec else None
            detail = f"{node.name}+{add.op_type}"
            if act is not None and params is not None:
                _fuse_activation(model, node, act, params)
                removed.add(id(act))
                detail += f"+{act.op_type}"
            else:  # the Add alone: FusedConv without an activation
                node.domain, node.op_type = CONTRIB, "FusedConv"
                node.outputs = [add.outputs[0]]
                model.opsets.setdefault(CONTRIB, 1)
            inputs = list(node.inputs) + [""] * (3 - len(node.inputs))
            node.inputs = inputs[:3] + [residual]
            removed.add(id(add))
            moved[id(add)] = node  # Z may be made after the conv: run it where the Add ran
            result.record(detail)
        placed = {id(n) for n in moved.values()}
        graph.nodes = [moved.get(id(n), n) for n in graph.nodes
                       if id(n) in moved or (id(n) not in removed and id(n) not in placed)]
        return result


def _same_shape(graph: Graph, a: str, b: str) -> bool:
    va, vb = graph.values.get(a), graph.values.get(b)
    if va is None or vb is None or va.shape is None or vb.shape is None or va.dtype != vb.dtype:
        return False
    return tuple(va.shape) == tuple(vb.shape) and all(d is not None for d in va.shape)


#: the fused operators :func:`unfuse` splits, by op_type (domain ``com.microsoft``)
_FUSED = ("FusedConv", "FusedGemm", "FusedMatMul")


def unfuse(graph: Graph) -> None:
    """com.microsoft FusedConv / FusedGemm / FusedMatMul (litert's own fusions) back to ONNX operators, in place:
    the product, FusedConv's residual Add, then the standalone activation (Clip's bounds as constant inputs)."""
    nodes: list[Node] = []
    for node in graph.nodes:
        if node.domain != CONTRIB or node.op_type not in _FUSED:
            nodes.append(node)
            continue
        base = node.op_type[len("Fused"):]
        attrs = dict(node.attrs)
        act = attrs.pop("activation", None)
        act = act.decode() if isinstance(act, bytes) else act
        params = list(attrs.pop("activation_params", []) or [])
        alpha = attrs.pop("activation_alpha", None)
        if base == "MatMul":
            alpha_mm = float(attrs.pop("alpha", 1.0))
            if attrs.pop("transA", 0) or attrs.pop("transB", 0) or attrs.pop("transBatchA", 0) \
                    or attrs.pop("transBatchB", 0) or alpha_mm != 1.0:
                raise UnsupportedOperatorError(f"node {node.name!r}: FusedMatMul with transposes or alpha",
                                               node=node.name, op_type=node.op_type, domain=node.domain)
            attrs = {}
        inputs = list(node.inputs)
        residual = inputs[3] if base == "Conv" and len(inputs) > 3 and inputs[3] else None  # FusedConv's Z
        inputs = inputs[:3] if base == "Conv" else inputs
        while inputs and not inputs[-1]:
            inputs.pop()
        if act and act not in ACTIVATIONS:
            raise UnsupportedOperatorError(f"node {node.name!r}: fused activation {act}", node=node.name,
                                           op_type=node.op_type, domain=node.domain)
        if not act and residual is None:
            nodes.append(Node(base, inputs, node.outputs, attrs, node.name))
            continue
        inner = graph.unique_name(f"{node.outputs[0]}_preact")
        nodes.append(Node(base, inputs, [inner], attrs, node.name))
        if residual is not None:  # act(conv(x) + b + Z)
            summed = graph.unique_name(f"{node.outputs[0]}_sum") if act else node.outputs[0]
            nodes.append(Node("Add", [inner, residual], [summed], {}, f"{node.name}_residual"))
            inner = summed
            if not act:
                continue
        if act == "LeakyRelu" and not params and alpha is not None:
            params = [alpha]  # FusedGemm keeps LeakyRelu's alpha in activation_alpha
        act_attrs, bounds = ACTIVATIONS[act].standalone(params)
        act_inputs = [inner]
        for tag, bound in bounds:  # Clip's min and max, as constant inputs
            name = graph.unique_name(f"{node.name}_{tag}")
            graph.values[name] = Value(name, DType.FLOAT32, (), const=np.array(bound, np.float32))
            act_inputs.append(name)
        nodes.append(Node(act, act_inputs, [node.outputs[0]], act_attrs, f"{node.name}_{act.lower()}"))
    graph.nodes = nodes
