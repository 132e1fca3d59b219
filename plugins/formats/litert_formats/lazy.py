"""Readers and writers registered by name and suffix, imported on first use.

Registering the formats must stay cheap: ``litert.load("m.onnx")`` asks the
plugin host for every frontend to find the one for ``.onnx``, and importing
every reader for that (MindIR's protobuf module, the ``.ms`` and TFLite
schema layers, TensorFlow's GraphDef, Caffe) was most of a small model's
load time.  An entry here knows its name, its file suffixes and where its
class lives; the module is imported the first time the entry sniffs, loads
or saves.  ``tests`` check that every entry's name and suffixes are those
of the class it stands for, so the class stays their one owner.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litert.formats import Frontend, LoadOptions, Serializer
from litert.ir import Model


class _Lazy:
    """What both kinds of entry share: the target class, made on first use."""

    def __init__(self, name: str, extensions: tuple[str, ...], target: str) -> None:
        self.name, self.extensions, self.target = name, extensions, target
        self._real: Any = None

    def real(self) -> Any:
        """The reader or writer itself (its module imported now if not yet)."""
        if self._real is None:
            module, _, cls = self.target.partition(":")
            self._real = getattr(importlib.import_module(module), cls)()
        return self._real

    def __getattr__(self, attr: str) -> Any:
        # anything else the reader or writer offers (only reached for names this class lacks)
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.real(), attr)


class LazyFrontend(_Lazy, Frontend):
    def sniff(self, head: bytes) -> bool:
        return bool(self.real().sniff(head))

    def load(self, path: Path, options: LoadOptions) -> Model:
        model: Model = self.real().load(path, options)
        return model


class LazySerializer(_Lazy, Serializer):
    def save(self, model: Model, path: Path) -> None:
        self.real().save(model, path)


class Format:
    """One format's entry in the plugin's table (:data:`litert_formats.plugin.FORMATS`): its name, its file
    suffixes and where its reader and writer classes live (``"module:Class"``; either may be None)."""

    __slots__ = ("name", "extensions", "reader", "writer")

    def __init__(self, name: str, extensions: tuple[str, ...], reader: str | None = None, writer: str | None = None):
        self.name, self.extensions, self.reader, self.writer = name, extensions, reader, writer

    def frontend(self) -> LazyFrontend | None:
        """The reader, as a lazy entry (None when the format has none)."""
        return LazyFrontend(self.name, self.extensions, self.reader) if self.reader else None

    def serializer(self) -> LazySerializer | None:
        """The writer, as a lazy entry (None when the format has none)."""
        return LazySerializer(self.name, self.extensions, self.writer) if self.writer else None


def lazy_exports(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A format package's module ``__getattr__`` (PEP 562): each name of ``modules`` is imported from its module
    (``".reader"``: relative to ``package``) on first use, so registering the format loads no reader."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(name)
        return getattr(importlib.import_module(modules[name], package), name)

    return __getattr__
