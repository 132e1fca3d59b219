"""Contracts of model readers (frontends) and writers (serialisers)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from .errors import PluginError
from .ir import Model, Shape
from .record import Record


class LoadOptions(Record):
    """What a user may tell a frontend; ``input_shapes`` overrides declared dims.

    ``weight_file`` is the weights of a format that keeps them apart from the
    net (Caffe's ``.caffemodel``, MindSpore Lite's ``--weightFile``).

    ``borrow_file``: the caller copies what it keeps of the model's constants before the load returns
    (:meth:`litert.ir.Model.detach_file`; a session does, after its passes), so a frontend may leave large
    weights as read-only views of the mapped file (``Model.mapped_file``) instead of copying each first:
    most of them are rewritten by the passes (BatchNormalization folding) and never copied at all.
    """

    FIELDS = ("input_shapes", "weight_file", "borrow_file")

    def __init__(self, input_shapes: dict[str, Shape] | None = None, weight_file: Path | None = None,
                 borrow_file: bool = False) -> None:
        self.input_shapes: dict[str, Shape] = {} if input_shapes is None else input_shapes
        self.weight_file = weight_file
        self.borrow_file = borrow_file


class Frontend(ABC):
    """Reads one model format into the IR.

    ``load`` must raise :class:`litert.errors.ModelLoadError` for a file it
    cannot parse and :class:`litert.errors.UnsupportedOperatorError` (naming
    node and op) for an operator it cannot map; never a bare exception.
    The graph it returns uses the core's operator set (latest ONNX semantics).
    """

    #: short name used by ``--fmk`` and ``list-formats``
    name: str = ""
    #: file suffixes, lower case, with the dot
    extensions: tuple[str, ...] = ()

    def sniff(self, head: bytes) -> bool:
        """True when the first bytes of a file look like this format."""
        return False

    @abstractmethod
    def load(self, path: Path, options: LoadOptions) -> Model:
        """Read ``path`` into a :class:`litert.ir.Model`."""


class Serializer(ABC):
    """Writes the IR to one model format."""

    name: str = ""
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def save(self, model: Model, path: Path) -> None:
        """Write ``model`` to ``path``; raise :class:`litert.errors.LitertError` subclasses on failure."""


#: a frontend or a serialiser: what :func:`by_name_or_suffix` picks from
Handler = TypeVar("Handler", Frontend, Serializer)


def by_name_or_suffix(handlers: Mapping[str, Handler], path: Path, name: str | None, kind: str) -> Handler | None:
    """The handler called ``name`` (a :class:`PluginError` listing the installed ones when none is), else the first
    whose ``extensions`` hold ``path``'s suffix, else None; ``kind`` ("frontend", "writer") words the error."""
    if name:
        if name not in handlers:
            raise PluginError(f"no {kind} for format {name!r} (installed: {', '.join(sorted(handlers)) or 'none'})")
        return handlers[name]
    suffix = path.suffix.lower()
    return next((h for h in handlers.values() if suffix in h.extensions), None)
