"""Graph output names through a MindIR file.

MindIR has no names for graph outputs: the graph returns a node (or a
``MakeTuple`` of nodes), and a reader names each output after the node that
makes it (``n65:156/Softmax``).  So that ``model.run()`` keys survive
``litert convert m.onnx m.mindir``, the writer records the IR's output names
in the model's ``user_info`` (what ``mindspore.export(custom_info=...)``
writes, ignored when MindSpore loads the file) and the reader gives the
outputs those names back, through an Identity each.
"""
from __future__ import annotations

import json

from litert.ir import Graph, Node
from litert.logs import Log

#: the ``ModelProto.user_info`` key holding the JSON list of output names
OUTPUT_NAMES_KEY = "litert.output_names"

log = Log("litert.formats.mindir")


def record(user_info, graph: Graph) -> None:
    """Add the output names of ``graph`` to ``ModelProto.user_info`` (repeated key/value entries)."""
    user_info.add(key=OUTPUT_NAMES_KEY, value=json.dumps(list(graph.outputs)))


def restore(graph: Graph, user_info) -> None:
    """Rename the outputs of a graph read from MindIR to the names ``record`` kept, if any."""
    text = user_info.get(OUTPUT_NAMES_KEY)
    if text is None:
        return
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not isinstance(names, list) or len(names) != len(graph.outputs) or \
            not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        log.warning("%s in the file does not fit the graph's %d outputs; keeping the read names",
                    OUTPUT_NAMES_KEY, len(graph.outputs))
        return
    for index, (current, wanted) in enumerate(zip(list(graph.outputs), names)):
        if current == wanted:
            continue
        if wanted in graph.values:
            log.warning("output %d: %r is already a tensor of the graph; keeping the name %r", index, wanted, current)
            continue
        graph.nodes.append(Node("Identity", [current], [wanted], name=f"{wanted}/output"))
        graph.value(wanted)
        graph.outputs[index] = wanted
