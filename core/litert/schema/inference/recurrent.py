"""Recurrent layers: RNN, GRU, LSTM (outputs Y, Y_h and, for LSTM, Y_c)."""
from __future__ import annotations

from ...ir import Graph, Node, Shape
from ._base import Info, Inputs, rule


@rule("RNN", "GRU", "LSTM")
def _recurrent(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x, r = inputs[0], inputs[2]
    dtype = x.dtype
    directions = 2 if node.attrs.get("direction", "forward") == "bidirectional" else 1
    hidden = node.attrs.get("hidden_size")
    if hidden is None and r.shape is not None and len(r.shape) == 3:
        hidden = r.shape[2]
    if x.shape is None or len(x.shape) != 3:
        seq = batch = None
    elif node.attrs.get("layout", 0):
        batch, seq = x.shape[0], x.shape[1]
    else:
        seq, batch = x.shape[0], x.shape[1]
    y: Shape
    state: Shape
    if node.attrs.get("layout", 0):
        y = (batch, seq, directions, hidden)
        state = (batch, directions, hidden)
    else:
        y = (seq, directions, batch, hidden)
        state = (directions, batch, hidden)
    return [(dtype, y), (dtype, state), (dtype, state)][: len(node.outputs)]
