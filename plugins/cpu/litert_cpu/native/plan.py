"""Cut a partition's nodes into native segments and numpy nodes.

Consecutive nodes that all lower (:mod:`.lowering`) form one
:class:`~.segment.NativeSegment`; a node that declines runs its numpy kernel
between segments.  Inside a segment, an activation (or a MatMul's bias Add)
whose input is made by the step just before it and read by nothing else is
fused into that step.
"""
from __future__ import annotations

from litert.ir import Graph, Node

from .lowering import LowerContext, Lowered, fold_activation, fold_bias, lower
from .segment import NativeSegment


def plan_partition(graph: Graph, opsets: dict[str, int], threads: int, outer: tuple[str, ...] = (),
                   fuse: bool = True) -> tuple[list["Node | NativeSegment"], dict[str, str]]:
    """The partition's nodes in order, runs of native nodes replaced by
    segments; and, per declined node, why (for ``placement`` notes).
    ``fuse=False`` keeps every activation a step of its own, so that node
    hooks see each node's own output (``litert compare``)."""
    ctx = LowerContext(graph, opsets, threads)
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

    def close(end: int) -> None:
        if run_nodes:
            produced = {o for n in run_nodes for o in n.outputs if o}
            live = {name for name in produced if last_read.get(name, -1) >= end}
            items.append(NativeSegment(list(run_nodes), list(run_lowered), graph, live, threads, frozenset(hidden)))
            run_nodes.clear()
            run_lowered.clear()
            hidden.clear()

    for index, node in enumerate(nodes):
        result = lower(node, ctx)
        if isinstance(result, str):
            close(index)
            declined[node.name] = result
            items.append(node)
            continue
        # fuse an activation (or a bias Add) into the step that makes its input:
        # the last node's step, or the step an earlier fold left it an alias of
        maker = next((lw for lw in reversed(run_lowered) if lw.steps), None)
        if fuse and maker is not None and len(maker.steps) == 1 and len(node.inputs) >= 1 and node.inputs[0]:
            producer = maker.steps[0]
            x = node.inputs[0]
            if node.op_type == "Add" and folded.get(node.inputs[-1], node.inputs[-1]) == producer.output:
                x = node.inputs[-1]  # a bias Add may name the MatMul's output second
            if folded.get(x, x) == producer.output and (x == producer.output or run_lowered[-1].alias) \
                    and readers.get(x) == 1 and x not in graph.outputs \
                    and (fold_activation(producer, node, ctx) or fold_bias(producer, node, ctx)):
                result = Lowered(alias=(node.outputs[0], x))
                folded[node.outputs[0]] = producer.output
                hidden.add(x)
        run_nodes.append(node)
        run_lowered.append(result)
    close(len(nodes))
    return items, declined
