"""Write the litert IR as an ONNX file (:class:`OnnxSerializer`).

Constants become initializers, subgraphs GRAPH attributes, values with a
known type ``value_info``.  The default-domain opset is the IR model's
(clamped to what the installed ``onnx`` knows); nodes of other domains get
an opset import (``com.microsoft`` at 1: litert's fusions emit
onnxruntime's FusedConv/FusedGemm/FusedMatMul).  Models whose weights pass
2 GB are written with external data next to the file.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import GraphProto, ModelProto, NodeProto, external_data_helper, helper, numpy_helper

from litert.atomic import write_bytes
from litert.errors import InvalidModelError
from litert.formats import Serializer
from litert.ir import DType, Graph, Model, Node, Value
from litert.logs import Log
from litert.schema import schemas

from ..writing import lowering_errors, write_errors
from . import attributes
from .types import value_info

log = Log("litert.formats.onnx")

#: domains onnx's checker knows; a model using any other is not checked
CHECKED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview", "ai.onnx.preview.training"}
#: default opset of domains a node uses but the model does not declare
DEFAULT_DOMAIN_OPSETS = {"com.microsoft": 1}
EXTERNAL_DATA_THRESHOLD = 2**31 - 2**26  # leave room for the graph itself under protobuf's 2 GB
#: with external data, tensors at least this large go to the data file
EXTERNAL_TENSOR_MIN_BYTES = 1024


#: numpy dtypes whose raw little-endian bytes are ONNX's raw_data as they are
_RAW = {np.dtype(t): DType.from_numpy(t).value for t in (
    np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
    np.uint32, np.uint64, np.bool_, np.complex64, np.complex128)}


def _fill_tensor(tensor, name: str, arr: np.ndarray) -> None:
    """Write ``arr`` into ``tensor`` (one copy for plain numeric types; onnx's helper otherwise)."""
    arr = np.asarray(arr)
    code = _RAW.get(arr.dtype) if sys.byteorder == "little" else None
    if code is None:
        if arr.dtype.kind in ("U", "S"):
            arr = arr.astype(object)
        tensor.CopyFrom(numpy_helper.from_array(arr, name))
        return
    tensor.name = name
    tensor.data_type = code
    tensor.dims.extend(arr.shape)
    tensor.raw_data = np.ascontiguousarray(arr).tobytes()


class _Writer:
    def __init__(self) -> None:
        self.reg = schemas()

    def _schema_attr_types(self, node: Node) -> dict[str, str]:
        if not self.reg.has(node.domain, node.op_type):
            return {}
        return {n: a.type for n, a in self.reg.latest(node.domain, node.op_type).attrs.items()}

    def node(self, node: Node, scopes: list[Graph]) -> NodeProto:
        proto = NodeProto(op_type=node.op_type, name=node.name, domain=node.domain)
        proto.input.extend(node.inputs)
        proto.output.extend(node.outputs)
        types = self._schema_attr_types(node)
        for name in sorted(node.attrs):
            value = node.attrs[name]
            if value is None:
                continue
            proto.attribute.append(
                attributes.to_proto(name, value, types.get(name), lambda g: self.graph(g, scopes))
            )
        return proto

    @staticmethod
    def _lookup(name: str, scopes: list[Graph]) -> Value | None:
        for g in reversed(scopes):
            if name in g.values:
                return g.values[name]
        return None

    def graph(self, graph: Graph, scopes: list[Graph] | None = None, proto: GraphProto | None = None) -> GraphProto:
        """``graph`` as a GraphProto (filled into ``proto`` when given, to spare a copy of the weights)."""
        scopes = (scopes or []) + [graph]
        proto = proto if proto is not None else GraphProto()
        proto.name = graph.name or "graph"
        inputs = set(graph.inputs)
        for name in graph.inputs:
            value = graph.values.get(name) or Value(name)
            proto.input.append(value_info(value))
        for name, value in graph.values.items():
            if value.const is not None:
                _fill_tensor(proto.initializer.add(), name, value.const)
        for node in graph.nodes:
            proto.node.append(self.node(node, scopes))
        outputs = set(graph.outputs)
        for name in graph.outputs:
            value = self._lookup(name, scopes) or Value(name)
            proto.output.append(value_info(value, name))
        for name, value in graph.values.items():
            if name in inputs or name in outputs or value.is_const:
                continue
            if value.dtype is not None or value.kind != "tensor":
                proto.value_info.append(value_info(value))
        return proto


def _domains(graph: Graph, found: set[str]) -> set[str]:
    for node in graph.nodes:
        found.add(node.domain)
        for sub in node.subgraphs():
            _domains(sub, found)
    return found


def _const_bytes(graph: Graph) -> int:
    total = 0
    for value in graph.values.values():
        if value.const is not None:
            total += int(value.const.nbytes)
    for node in graph.nodes:
        for sub in node.subgraphs():
            total += _const_bytes(sub)
    return total


def opset_imports(model: Model) -> dict[str, int]:
    opsets = {("" if d == "ai.onnx" else d): int(v) for d, v in model.opsets.items()}
    opsets[""] = min(opsets.get("", onnx.defs.onnx_opset_version()), onnx.defs.onnx_opset_version())
    for domain in _domains(model.graph, set()):
        if domain not in opsets:
            opsets[domain] = DEFAULT_DOMAIN_OPSETS.get(domain, 1)
    return opsets


def to_proto(model: Model) -> ModelProto:
    """The ModelProto of ``model`` (weights inline)."""
    opsets = opset_imports(model)
    opset_ids = [helper.make_opsetid(d, v) for d, v in sorted(opsets.items())]
    proto = ModelProto(producer_name=model.producer or "litert")
    proto.opset_import.extend(opset_ids)
    _Writer().graph(model.graph, proto=proto.graph)
    proto.ir_version = max(helper.find_min_ir_version_for(opset_ids, ignore_unknown=True), 4)
    for key, value in model.metadata.items():
        proto.metadata_props.append(onnx.StringStringEntryProto(key=str(key), value=str(value)))
    return proto


class OnnxSerializer(Serializer):
    name = "onnx"
    extensions = (".onnx",)

    def save(self, model: Model, path: Path) -> None:
        path = Path(path)
        with lowering_errors("ONNX"):
            proto = to_proto(model)
        external = _const_bytes(model.graph) > EXTERNAL_DATA_THRESHOLD
        checked = _domains(model.graph, set()) <= CHECKED_DOMAINS
        with write_errors(path):
            if external:
                _save_external(proto, path)
                if checked:
                    _check(str(path), path)
            else:
                data = proto.SerializeToString()
                del proto
                if checked:
                    _check(data, path)
                write_bytes(path, data)


def _save_external(proto: ModelProto, path: Path) -> None:
    """``path`` plus its weights in ``<name>.data``, each written completely before it replaces an old file."""
    location = path.name + ".data"
    external_data_helper.convert_model_to_external_data(
        proto, all_tensors_to_one_file=True, location=location, size_threshold=EXTERNAL_TENSOR_MIN_BYTES)
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        external_data_helper.write_external_data_tensors(proto, str(scratch))  # onnx writes (appends) here
        os.replace(scratch / location, path.parent / location)
        write_bytes(path, proto.SerializeToString())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: checker complaints about information the IR may simply not have (an output of unknown rank)
_TOLERATED = ("Field 'shape' of 'type' is required but missing",)


def _check(model, path: Path) -> None:
    try:
        onnx.checker.check_model(model)
    except Exception as err:
        text = str(err).strip().splitlines()
        first = text[0] if text else str(err)
        if any(t in first for t in _TOLERATED):
            log.warning("%s: %s (written anyway)", path, first)
            return
        raise InvalidModelError(f"{path}: the written ONNX model does not pass onnx.checker ({first})") from None
