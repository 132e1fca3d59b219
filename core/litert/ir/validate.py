"""Structural checks of a graph, the ones onnxruntime makes before it runs anything.

A frontend turns bytes into a :class:`~litert.ir.Graph`; :func:`validate_graph`
then refuses what no inference engine can run meaningfully, with a
:class:`~litert.errors.ModelLoadError` naming the node and value:

* a name that is not text (or not valid Unicode: lone surrogates from bad UTF-8);
* a node without outputs;
* two nodes writing one value, or a node overwriting a graph input or a constant;
* a node reading a name nothing defines, a graph output nothing produces;
* a cycle.  Nodes merely out of order (acyclic) are put in topological order,
  as onnxruntime does.

Subgraphs (If/Loop/Scan bodies) are checked the same way, with the names
visible in the enclosing scope counted as defined.
"""
from __future__ import annotations

from ..errors import ModelLoadError
from .graph import Graph, Node


def validate_graph(graph: Graph, where: str = "") -> None:
    """Check ``graph`` (and its subgraphs) in place; may reorder its nodes topologically."""
    _check(graph, frozenset(), where)


def _text(name: object, what: str, where: str) -> str:
    if not isinstance(name, str):
        raise ModelLoadError(f"{where}{what} is not a text name ({type(name).__name__})")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelLoadError(f"{where}{what} {name!r} is not valid UTF-8") from None
    return name


def _all_text(names: list[str]) -> bool:
    """True when every one of ``names`` is valid text, even when a reader let bytes through (one join and one
    encode: this runs per node)."""
    try:
        "".join(names).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return False
    return True


def _label(node: Node) -> str:
    return f"node {node.name!r} ({node.op_type})"


def _check(graph: Graph, outer: frozenset[str], where: str) -> None:
    prefix = f"{where}: " if where else ""
    if graph.name is not None:
        _text(graph.name, "graph name", prefix)
    defined: set[str] = set()
    for name in graph.inputs:
        _text(name, "graph input name", prefix)
        if name in defined:
            raise ModelLoadError(f"{prefix}graph input {name!r} is listed twice")
        defined.add(name)
    for name, value in graph.values.items():
        if value.is_const:
            defined.add(_text(name, "constant name", prefix))
    producers: dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        if not _all_text([node.name, node.op_type, *node.inputs, *node.outputs]):  # find which, for the message
            _text(node.name, "node name", prefix)
            _text(node.op_type, f"op type of node {node.name!r}", prefix)
            for name in node.outputs:
                _text(name, f"output name of {_label(node)}", prefix)
            for name in node.inputs:
                _text(name, f"input name of {_label(node)}", prefix)
        outputs = node.outputs
        if not any(outputs):
            raise ModelLoadError(f"{prefix}{_label(node)} has no outputs")
        for name in outputs:
            if not name:
                continue
            if name in defined:
                what = "a graph input" if name in graph.inputs else "a constant"
                raise ModelLoadError(f"{prefix}{_label(node)} overwrites {what} {name!r}")
            if name in producers:
                other = graph.nodes[producers[name]]
                raise ModelLoadError(f"{prefix}value {name!r} is written by two nodes: {_label(other)} and {_label(node)}")
            producers[name] = index
    visible = outer | defined | producers.keys()
    reads = [node.reads() for node in graph.nodes]  # once: walks control-flow bodies
    for node, names in zip(graph.nodes, reads):
        for name in names:
            if name not in visible:
                raise ModelLoadError(f"{prefix}{_label(node)} reads {name!r}, which nothing defines")
    for name in graph.outputs:
        _text(name, "graph output name", prefix)
        if name not in visible:
            raise ModelLoadError(f"{prefix}graph output {name!r} is produced by no node")
    graph.nodes = _topological(graph.nodes, producers, prefix, reads)
    for node in graph.nodes:
        for sub in node.subgraphs():
            _check(sub, frozenset(visible), f"{prefix}{_label(node)} body {sub.name!r}")


def _topological(nodes: list[Node], producers: dict[str, int], prefix: str, reads: list[list[str]]) -> list[Node]:
    """``nodes`` in a topological order (unchanged when already one); a cycle is an error.
    ``reads``: each node's :meth:`~Node.reads`."""
    if in_order(producers, reads):
        return nodes
    import heapq  # only for nodes out of order (~0.4 ms of a first load: a shared library)

    deps = [{producers[n] for n in names if n in producers} for names in reads]
    users: list[list[int]] = [[] for _ in nodes]
    pending = [0] * len(nodes)
    for i, d in enumerate(deps):
        pending[i] = len(d)
        for j in d:
            users[j].append(i)
    ready = [i for i, n in enumerate(pending) if n == 0]  # a heap: file order among ready nodes
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for user in users[i]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready, user)
    if len(order) < len(nodes):
        stuck = next(i for i, n in enumerate(pending) if n)
        raise ModelLoadError(f"{prefix}the graph has a cycle through {_label(nodes[stuck])}")
    return [nodes[i] for i in order]


def in_order(producers: dict[str, int], reads: list[list[str]]) -> bool:
    """Whether every node reads only what nodes before it make (the common case: one pass, no sets)."""
    get = producers.get
    for i, names in enumerate(reads):
        for name in names:
            if get(name, -1) >= i:
                return False
    return True
