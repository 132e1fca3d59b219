"""Entry point ``litert.formats: formats``: every format litert-formats reads or writes, and onnxruntime as
``litert compare``'s reference engine for ONNX files.

The formats are one table under one entry point: they ship and install together, and every entry point
costs each process's first load an import and a pluggy registration (~0.15 ms each on a 2-vCPU Xeon: an
entry point per format was ~1 ms of a small model's first load for the five it did not read).  Each
reader and writer is a lazy entry (:mod:`litert_formats.lazy`): its module is imported the first time it
sniffs, loads or saves.
"""
from collections.abc import Callable
from typing import Any

from litert.formats import Frontend, Serializer
from litert.hookspecs import hookimpl

from .lazy import Format

LITERT_PLUGIN_API = 2

#: name, suffixes, reader, writer; in this order the frontends sniff a file whose suffix names none of them
FORMATS = (
    Format("caffe", (".prototxt",), reader="litert_formats.caffe.reader:CaffeFrontend"),
    Format("mindir", (".mindir",), reader="litert_formats.mindir.reader:MindirFrontend",
           writer="litert_formats.mindir.writer:MindirSerializer"),
    Format("ms", (".ms",), reader="litert_formats.ms.reader:MsFrontend", writer="litert_formats.ms.writer:MsSerializer"),
    Format("onnx", (".onnx",), reader="litert_formats.onnx.reader:OnnxFrontend",
           writer="litert_formats.onnx.writer:OnnxSerializer"),
    Format("tf", (".pb",), reader="litert_formats.tf.reader:TfFrontend"),
    Format("tflite", (".tflite",), reader="litert_formats.tflite.reader:TfliteFrontend"),
)


@hookimpl
def litert_register_frontends(register: Callable[[Frontend], None]) -> None:
    _register_each(Format.frontend, register)


@hookimpl
def litert_register_serializers(register: Callable[[Serializer], None]) -> None:
    _register_each(Format.serializer, register)


def _register_each(entry: Callable[[Format], Any], register: Callable[[Any], None]) -> None:
    """``register`` each format's reader or writer (``entry``: :meth:`Format.frontend` or :meth:`Format.serializer`),
    in the table's order; formats without one are skipped."""
    for fmt in FORMATS:
        made = entry(fmt)
        if made is not None:
            register(made)


@hookimpl
def litert_register_reference_engines(register):
    from .onnx.reference import ONNXRUNTIME

    register(ONNXRUNTIME)
