"""Read a Caffe net (``.prototxt`` text) and its weights (``.caffemodel`` binary) with litert's own protos.

Every failure is a :class:`~litert.errors.ModelLoadError` naming the file.
The weights are matched to layers by name, as Caffe's ``CopyTrainedLayersFrom``
does; both the current (``layer``) and the deprecated V1 (``layers``) layer
lists of a ``.caffemodel`` are read.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from litert.errors import ModelLoadError
from litert.limits import numel

from ..reading import read_message
from . import caffe_pb2

#: text-format parsing failures (protobuf raises ParseError; a hostile file may trip its tokenizer otherwise)
_TEXT_ERRORS = (text_format.ParseError, ValueError, UnicodeDecodeError, RecursionError, IndexError)
#: a V1 net's layer list (``layers { ... }`` at the top level), read only from old ``.caffemodel`` files
_V1_LAYERS = re.compile(rb"^layers\s*\{", re.MULTILINE)
#: binary parsing failures
_BINARY_ERRORS = (DecodeError, RuntimeError, ValueError, RecursionError)


def read_net(path: Path) -> caffe_pb2.NetParameter:
    """The net of a ``.prototxt``; fields litert's proto does not know (data, loss, solver settings) are skipped."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    data = path.read_bytes()
    if not data.strip():
        raise ModelLoadError(f"{path}: empty file")
    if _V1_LAYERS.search(data):
        raise ModelLoadError(f"{path}: a V1 Caffe net ('layers' entries); upgrade it to 'layer' entries with "
                             "Caffe's upgrade_net_proto_text first")
    net = caffe_pb2.NetParameter()
    try:
        text_format.Parse(data.decode("utf-8"), net, allow_unknown_field=True)
    except _TEXT_ERRORS as err:
        raise ModelLoadError(f"{path}: not a Caffe prototxt ({_one_line(err)})") from None
    if not net.layer:
        raise ModelLoadError(f"{path}: not a Caffe prototxt (no layers)")
    return net


def read_weights(path: Path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [blob arrays]}`` of a ``.caffemodel`` (layers without blobs are left out)."""
    net = read_message(path, caffe_pb2.NetParameter(), "Caffe weight file", _BINARY_ERRORS, missing="weight file",
                       detail=_one_line)
    weights: dict[str, list[np.ndarray]] = {}
    for layer in [*net.layer, *net.layers]:
        if layer.blobs:
            weights[layer.name] = [blob_array(blob, f"{path}: layer {layer.name!r} blob {i}")
                                   for i, blob in enumerate(layer.blobs)]
    return weights


def blob_array(blob: caffe_pb2.BlobProto, where: str) -> np.ndarray:
    """A BlobProto as a float32 array of its declared shape (``shape``, else the legacy num/channels/height/width)."""
    if blob.HasField("shape"):
        dims = [int(d) for d in blob.shape.dim]
    else:  # the layer reshapes legacy blobs to what it expects (as Caffe's ShapeEquals allows)
        dims = [int(blob.num), int(blob.channels), int(blob.height), int(blob.width)]
    if any(d < 0 for d in dims):
        raise ModelLoadError(f"{where}: negative dims {dims}")
    count = numel(dims)
    if len(blob.data):
        values = np.asarray(blob.data, np.float32)
    else:
        values = np.asarray(blob.double_data, np.float64).astype(np.float32)
    if values.size != count:
        raise ModelLoadError(f"{where}: {values.size} values for a {dims} blob")
    return values.reshape(dims)


def weight_file_for(prototxt: Path, given: Path | None) -> Path:
    """The weight file: the one given, else ``<stem>.caffemodel`` beside the prototxt, else the only one there."""
    if given is not None:
        return Path(given)
    beside = prototxt.with_suffix(".caffemodel")
    if beside.is_file():
        return beside
    found = sorted(prototxt.parent.glob("*.caffemodel"))
    if len(found) == 1:
        return found[0]
    what = f"{len(found)} .caffemodel files there" if found else "none beside it"
    raise ModelLoadError(f"{prototxt}: which weight file? {what}; pass --weight-file (weight_file=)")


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())[:200]
