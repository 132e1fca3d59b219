"""WHILE and IF: TFLite's control flow over subgraphs, as the IR's ``Loop`` and ``If``.

A TFLite WHILE carries its inputs through a *body* subgraph while a *cond*
subgraph says true; ONNX's ``Loop`` evaluates the condition at the end of
its body, so the cond subgraph is inlined twice: once before the loop (the
initial condition) and once after the body, inside the ``Loop`` body graph.
An IF's branch subgraphs take the operator's inputs after the condition; as
ONNX ``If`` branches have no inputs, the branch graphs read those values
from the enclosing graph by name.  Every inlined subgraph gets a name prefix
of its own, so no value shadows an outer one.
"""
from __future__ import annotations

import numpy as np

from litert.errors import ModelLoadError
from litert.ir import DType, Graph, Node, Value

from .reader import GraphBuilder, emit_operators

#: subgraphs inside subgraphs, at most (a file whose WHILE bodies call each other is refused)
MAX_DEPTH = 8


def _subgraph(b, op, key: str):
    index = int(op.options.get(key, -1))
    if not 0 <= index < len(b.tfl.subgraphs) or index == b.sub.index:
        raise ModelLoadError(f"{b.path}: operator {op.index} ({op.op_name}) names subgraph {index} as {key}")
    if b.depth >= MAX_DEPTH:
        raise b.unsupported(op, f"control flow nested deeper than {MAX_DEPTH} subgraphs")
    return b.tfl.subgraphs[index]


def inline(b, sub, graph: Graph, inputs: list[str], prefix: str) -> list[str]:
    """Emit subgraph ``sub`` into ``graph`` reading ``inputs``; the names of its outputs."""
    if len(inputs) != len(sub.inputs):
        raise ModelLoadError(f"{b.path}: subgraph {sub.index} takes {len(sub.inputs)} inputs, given {len(inputs)}")
    inner = GraphBuilder(b.tfl, sub, graph, prefix=prefix, bound=dict(zip(sub.inputs, inputs)), depth=b.depth + 1)
    emit_operators(inner)
    return [inner.names[i] for i in sub.outputs]


def _scalar_bool(graph: Graph, name: str, out: str) -> None:
    """``name`` (a bool of one element) reshaped to the scalar Loop and If want."""
    shape = graph.unique_name(f"{out}_shape")
    graph.values[shape] = Value(shape, DType.INT64, (0,), const=np.zeros(0, np.int64))
    graph.values[out] = Value(out, DType.BOOL, ())
    graph.nodes.append(Node("Reshape", [name, shape], [out], name=f"{out}_reshape"))


def _copies(graph: Graph, names: list[str], prefix: str) -> list[str]:
    """Identity copies, so a body or branch output is a value of its own graph."""
    outs = []
    for i, name in enumerate(names):
        out = graph.unique_name(f"{prefix}out{i}")
        graph.value(out)
        graph.nodes.append(Node("Identity", [name], [out], name=f"{out}_identity"))
        outs.append(out)
    return outs


def while_(b, op) -> None:
    cond_sub, body_sub = _subgraph(b, op, "cond_subgraph_index"), _subgraph(b, op, "body_subgraph_index")
    if any(b.tensor(op, i).quant is not None for i in range(len(op.inputs))):
        raise b.unsupported(op, "a loop carrying quantised tensors")
    state = [b.inp(op, i) for i in range(len(op.inputs))]
    tag = b.fresh(f"op{op.index}_while")
    first = inline(b, cond_sub, b.graph, state, f"{tag}/cond0/")
    if len(first) != 1:
        raise ModelLoadError(f"{b.path}: WHILE condition subgraph {cond_sub.index} has {len(first)} outputs")
    keep_going = b.fresh(f"{tag}/cond0")
    _scalar_bool(b.graph, first[0], keep_going)

    body = Graph(name=f"{tag}_body")
    iteration, cond_in = f"{tag}/iteration", f"{tag}/cond_in"
    body.values[iteration] = Value(iteration, DType.INT64, ())
    body.values[cond_in] = Value(cond_in, DType.BOOL, ())
    carried = []
    for i in range(len(state)):
        name = f"{tag}/v{i}"
        body.values[name] = Value(name, b.tensor(op, i).dtype)
        carried.append(name)
    body.inputs = [iteration, cond_in, *carried]
    updated = inline(b, body_sub, body, carried, f"{tag}/body/")
    if len(updated) != len(state):
        raise ModelLoadError(f"{b.path}: WHILE body subgraph {body_sub.index} returns {len(updated)} values "
                             f"for {len(state)} inputs")
    again = inline(b, cond_sub, body, updated, f"{tag}/cond/")
    cond_out = f"{tag}/cond_out"
    _scalar_bool(body, again[0], cond_out)
    body.outputs = [cond_out, *_copies(body, updated, f"{tag}/")]
    b.emit("Loop", ["", keep_going, *state], [b.out(op, i) for i in range(len(op.outputs))], op, body=body)


def if_(b, op) -> None:
    then_sub, else_sub = _subgraph(b, op, "then_subgraph_index"), _subgraph(b, op, "else_subgraph_index")
    args = [b.inp(op, i) for i in range(1, len(op.inputs))]
    tag = b.fresh(f"op{op.index}_if")
    cond = b.fresh(f"{tag}/cond")
    _scalar_bool(b.graph, b.inp(op, 0), cond)
    branches = {}
    for key, sub in (("then_branch", then_sub), ("else_branch", else_sub)):
        graph = Graph(name=f"{tag}_{key}")
        outs = inline(b, sub, graph, args, f"{tag}/{key}/")
        if len(outs) != len(op.outputs):
            raise ModelLoadError(f"{b.path}: IF branch subgraph {sub.index} returns {len(outs)} values "
                                 f"for {len(op.outputs)} outputs")
        graph.outputs = _copies(graph, outs, f"{tag}/{key}/")
        branches[key] = graph
    b.emit("If", [cond], [b.out(op, i) for i in range(len(op.outputs))], op, **branches)


READERS = {"WHILE": while_, "IF": if_}
