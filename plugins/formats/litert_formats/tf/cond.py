"""A frozen v1 ``tf.cond`` (``Switch``/``Merge``) as a select of both branches (:class:`BranchTags`)."""
from __future__ import annotations

from pathlib import Path

from litert.errors import ModelLoadError, UnsupportedOperatorError


class BranchTags:
    """v1 ``tf.cond`` (``Switch``/``Merge``, what a frozen ``tf.cond`` is lowered to) as a select of both branches.

    Every node output gets the stack of branches it is computed in:
    ``Switch(data, pred)`` forwards ``data`` on output 0 into the branch
    ``(pred, False)`` and on output 1 into ``(pred, True)``; any other node is
    in the innermost branch of its inputs, control inputs included (a branch's
    constants hang on its pivot by a control edge).  ``Merge`` of the two
    branches of one predicate becomes ``Where(pred, then, else)``.  Both
    branches are computed (they have no side effects in an inference graph);
    loops (``Enter``/``Exit``/``NextIteration``) are not read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tags: dict[str, tuple] = {}   # node name or "node:port" -> ((pred value, taken), ...)

    def of(self, ref: str) -> tuple:
        name, _, port = ref.lstrip("^").partition(":")
        return self.tags.get(f"{name}:{port}" if port not in ("", "0") else name, self.tags.get(name, ()))

    def context(self, n) -> tuple:
        tags = [self.of(ref) for ref in n.input]
        return max(tags, key=len, default=())

    def inherit(self, n) -> None:
        context = self.context(n)
        if context:
            self.tags[n.name] = context

    def read(self, b, op, n, alias: dict[str, str]) -> None:
        if len(op.inputs) != 2:
            raise ModelLoadError(f"{self.path}: {n.op} node {n.name!r} has {len(op.inputs)} data inputs, not 2")
        context = self.context(n)
        if n.op == "Switch":
            data, pred = op.inputs
            alias[n.name] = alias[f"{n.name}:1"] = data
            self.tags[n.name] = (*context, (pred, False))
            self.tags[f"{n.name}:1"] = (*context, (pred, True))
            return
        refs = [i for i in n.input if not i.startswith("^")]
        first, second = self.of(refs[0]), self.of(refs[1])
        if (len(first) != len(second) or not first or first[:-1] != second[:-1] or first[-1][0] != second[-1][0]
                or first[-1][1] == second[-1][1]):
            raise UnsupportedOperatorError(f"{self.path.name}: node {n.name!r} (Merge): a merge of other than the two "
                                           "branches of one tf.cond (loops are not read)", node=n.name,
                                           op_type="Merge", domain="tensorflow")
        pred = first[-1][0]
        taken, other = (op.inputs[0], op.inputs[1]) if first[-1][1] else (op.inputs[1], op.inputs[0])
        b.emit("Where", [pred, taken, other], [n.name], op)
        if first[:-1]:
            self.tags[n.name] = first[:-1]
