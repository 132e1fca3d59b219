"""Cut a partition's nodes into native segments and numpy nodes.

Consecutive nodes that all lower (:mod:`.lowering`) form one
:class:`~.segment.NativeSegment`; a node that declines runs its numpy kernel
between segments.  Inside a segment, an activation (or a MatMul's bias Add,
or a GELU written out as five nodes: :func:`gelu_chain`) whose input is made
by the step just before it and read by nothing else is fused into that step.
"""
from __future__ import annotations

import math

from litert.ir import Graph, Node

from .layout import assign_layouts
from .lowering import LowerContext, Lowered, fold_activation, fold_bias, fold_preactivation, fold_scale, lower
from .qfuse import fuse_quantised_adds
from .segment import NativeSegment, segment_const


#: the ops a GELU written out opens with (:func:`gelu_chain`)
_GELU_OPENERS = ("Div", "Mul")


def gelu_chain(nodes: list[Node], index: int, ctx: LowerContext, readers: dict[str, int],
               outputs: list[str]) -> Node | None:
    """A Gelu node standing for ``nodes[index:index + 5]`` when they compute
    GELU written out, as exporters before ONNX opset 20 write it (torch,
    keras): ``Div(x, sqrt 2) | Mul(x, 1/sqrt 2)``, ``Erf``, ``Add(., 1)``,
    ``Mul(x, .)``, ``Mul(., 0.5)``, the values between them read by nothing
    else; else None.  Five passes over the tensor become one step (or the
    epilogue of the MatMul before it)."""
    if index + 5 > len(nodes) or nodes[index].op_type not in _GELU_OPENERS:
        return None
    scale, erf, add, mul, half = nodes[index:index + 5]
    if any(n.domain or len(n.outputs) != 1 for n in (scale, erf, add, mul, half)):
        return None

    def near(name: str, value: float) -> bool:
        c = ctx.const(name)
        return c is not None and c.size == 1 and abs(float(c.reshape(())) - value) <= 1e-6 * abs(value)

    def other(node: Node, name: str) -> str | None:
        """the other input of binary ``node`` when one of its inputs is ``name``"""
        if len(node.inputs) != 2 or name not in node.inputs:
            return None
        return node.inputs[1] if node.inputs[0] == name else node.inputs[0]

    x = scale.inputs[0] if scale.inputs else None
    if scale.op_type == "Mul" and x is not None and ctx.const(x) is not None:
        x = scale.inputs[1] if len(scale.inputs) == 2 else None
    if x is None or not (
            (scale.op_type == "Div" and len(scale.inputs) == 2 and near(scale.inputs[1], math.sqrt(2)))
            or (scale.op_type == "Mul" and near(other(scale, x) or "", 1 / math.sqrt(2)))):
        return None
    chain_ok = (erf.op_type == "Erf" and erf.inputs == [scale.outputs[0]]
                and add.op_type == "Add" and near(other(add, erf.outputs[0]) or "", 1.0)
                and mul.op_type == "Mul" and other(mul, add.outputs[0]) == x
                and half.op_type == "Mul" and near(other(half, mul.outputs[0]) or "", 0.5))
    internal = [scale.outputs[0], erf.outputs[0], add.outputs[0], mul.outputs[0]]
    if not chain_ok or any(readers.get(v) != 1 or v in outputs for v in internal):
        return None
    return Node("Gelu", [x], [half.outputs[0]], {}, name=f"{half.name}/gelu")


def plan_partition(graph: Graph, opsets: dict[str, int], threads: int, outer: tuple[str, ...] = (),
                   fuse: bool = True, precision: str = "fp32") -> tuple[list["Node | NativeSegment"], dict[str, str]]:
    """The partition's nodes in order, runs of native nodes replaced by
    segments; and, per declined node, why (for ``placement`` notes).
    ``fuse=False`` keeps every activation a step of its own, so that node
    hooks see each node's own output (``litert compare``)."""
    ctx = LowerContext(graph, opsets, threads, precision)
    nodes = graph.nodes
    readers: dict[str, int] = {}
    last_read: dict[str, int] = {}
    for index, node in enumerate(nodes):
        for name in node.reads():
            readers[name] = readers.get(name, 0) + 1
            last_read[name] = index
    for name in graph.outputs:
        last_read[name] = len(nodes)
        readers[name] = readers.get(name, 0) + 1

    items: list[Node | NativeSegment] = []
    declined: dict[str, str] = {}
    run_nodes: list[Node] = []
    run_lowered: list[Lowered] = []
    hidden: set[str] = set()
    folded: dict[str, str] = {}  # output of a folded node -> the step output it aliases
    # the last of run_lowered with steps: the step an activation may fuse into (kept, not searched for: a long
    # run of views would make the search quadratic)
    maker: Lowered | None = None

    def push(node: Node, lowered: Lowered) -> None:
        nonlocal maker
        run_nodes.append(node)
        run_lowered.append(lowered)
        if lowered.steps:
            maker = lowered

    def close(end: int) -> None:
        nonlocal maker
        maker = None
        if run_nodes:
            produced = {o for n in run_nodes for o in n.outputs if o}
            live = {name for name in produced if last_read.get(name, -1) >= end}
            if fuse:
                hidden.update(fuse_quantised_adds(run_lowered, live, ctx))
            channels_last = assign_layouts(run_lowered, live, ctx, segment_const(run_lowered, graph))
            items.append(NativeSegment(list(run_nodes), list(run_lowered), graph, live, threads, frozenset(hidden),
                                       channels_last))
            run_nodes.clear()
            run_lowered.clear()
            hidden.clear()

    chain: list[Lowered] = []  # what the nodes after a fused GELU chain's first lower to
    for index, node in enumerate(nodes):
        if chain:
            push(node, chain.pop(0))
            continue
        gelu = gelu_chain(nodes, index, ctx, readers, graph.outputs) if fuse and node.op_type in _GELU_OPENERS else None
        lowered_gelu = lower(gelu, ctx) if gelu is not None else "no chain"
        if not isinstance(lowered_gelu, str):
            # the chain's five nodes: four make nothing, the last the Gelu step
            x = gelu.inputs[0]
            if maker is not None and len(maker.steps) == 1 and folded.get(x, x) == maker.steps[0].output \
                    and (x == maker.steps[0].output or run_lowered[-1].alias) and readers.get(x) == 2 \
                    and x not in graph.outputs and fold_activation(maker.steps[0], gelu, ctx):
                lowered_gelu = Lowered(alias=(gelu.outputs[0], x))
                folded[gelu.outputs[0]] = maker.steps[0].output
                hidden.add(x)
            hidden.update(n.outputs[0] for n in nodes[index:index + 4])
            push(node, Lowered())
            chain = [Lowered(), Lowered(), Lowered(), lowered_gelu]
            continue
        result = lower(node, ctx)
        if isinstance(result, str):
            close(index)
            declined[node.name] = result
            items.append(node)
            continue
        # fuse an activation (or a bias Add) into the step that makes its input:
        # the last node's step, or the step an earlier fold left it an alias of
        if fuse and maker is not None and len(maker.steps) == 1 and len(node.inputs) >= 1 and node.inputs[0]:
            producer = maker.steps[0]
            x = node.inputs[0]
            if node.op_type in ("Add", "Mul") and folded.get(node.inputs[-1], node.inputs[-1]) == producer.output:
                x = node.inputs[-1]  # a bias Add (a scale Mul) may name the MatMul's output second
            if folded.get(x, x) == producer.output and (x == producer.output or run_lowered[-1].alias) \
                    and readers.get(x) == 1 and x not in graph.outputs \
                    and (fold_activation(producer, node, ctx, result) or fold_bias(producer, node, ctx)
                         or fold_scale(producer, node, ctx)):
                result = Lowered(alias=(node.outputs[0], x))
                folded[node.outputs[0]] = producer.output
                hidden.add(x)
            # or the BatchNorm + ReLU before a 1x1 conv into the conv's packing of its input
            elif not result.alias and folded.get(x, x) == producer.output \
                    and (x == producer.output or run_lowered[-1].alias) and readers.get(x) == 1 \
                    and x not in graph.outputs and fold_preactivation(maker, result, x, ctx):
                hidden.add(x)
        push(node, result)
    close(len(nodes))
    return items, declined
