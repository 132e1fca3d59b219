"""Read a ``.tflite`` file into the litert IR (:class:`TfliteFrontend`).

Steps: :class:`.tflfile.TflFile` maps and verifies the file;
:class:`GraphBuilder` turns the main subgraph's operators into IR nodes
through :data:`.read_ops.READERS`.  Tensors keep TFLite's layout (NHWC):
convolution, pooling and the other channels-first IR operators are wrapped
in Transposes, which the ``.ms`` frontend's pass then sinks and cancels
(:mod:`litert_formats.transposes`).  Constants stay numpy views on the
mapping (a convolution's OHWI weight becomes a transposed view, no copy).

Quantised tensors: constant ones (int8/uint8 weights, per tensor or per
channel; int32 biases) are dequantised to float32 at load, keeping their
quantisation parameters on the value; computed ones keep their integer type
and parameters, and each operator reads them through a ``DequantizeLinear``
and writes them through a ``QuantizeLinear``, so every operator computes in
float and rounds its output to the file's grid, as TFLite's int8 kernels do
within one quantisation step.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from litert.errors import ModelLoadError, UnsupportedOperatorError
from litert.formats import LoadOptions
from litert.ir import DType, Graph, Value
from litert.logs import Log

from .. import transposes
from ..emitter import NodeEmitter
from ..flatbuf.model_file import FlatBufferFrontend
from ..reading import check_input_shapes, declare_input, histogram_text, malformed_as_load_error, unique_tensor_names
from .read_ops import READERS
from .tflfile import TflFile, TflOperator, TflSubGraph, TflTensor

log = Log("litert.formats.tflite")
#: dtypes a computed tensor may carry quantisation on (float tensors' min/max stats are ignored)
_QUANTISED = {DType.INT8, DType.UINT8, DType.INT16}


class GraphBuilder(NodeEmitter[TflOperator]):
    """Names, constants, quantisation and node emission for the operator readers."""

    def __init__(self, tfl: TflFile, sub: TflSubGraph, graph: Graph, prefix: str = "",
                 bound: dict[int, str] | None = None, depth: int = 0) -> None:
        """``prefix`` goes before every name (a control-flow body's values must not shadow outer ones);
        ``bound`` gives tensors (a body's inputs) the names of values that already exist."""
        self.tfl = tfl
        self.sub = sub
        self.path = tfl.path
        self.graph = graph
        self.prefix = prefix
        self.depth = depth
        self.after_act: list = []
        self.after_quant: list = []
        self._dequantized: dict[str, str] = {}
        #: resource variables (:mod:`.variables`): handle tensor -> variable, variable -> current value
        self.variable_of: dict[int, str] = {}
        self.variables: dict[str, np.ndarray | str] = {}
        self.names = unique_tensor_names(sub.tensors, prefix)
        self.names.update(bound or {})
        for t in sub.tensors:
            if t.index not in (bound or {}):
                self._materialise(t)

    # -- values -------------------------------------------------------------------

    def _materialise(self, t: TflTensor) -> None:
        name = self.names[t.index]
        if t.data is not None and t.quant is not None and t.data.dtype.kind in "iu":
            data = t.quant.dequantize(t.data)
            self.graph.values[name] = Value(name, DType.FLOAT32, tuple(data.shape), const=data, quant=t.quant)
        elif t.data is not None:
            self.graph.values[name] = Value(name, t.dtype, tuple(t.data.shape), const=t.data)
        else:
            quant = t.quant if t.dtype in _QUANTISED else None
            self.graph.values[name] = Value(name, t.dtype, None, quant=quant)

    def tensor(self, op: TflOperator, i: int) -> TflTensor:
        if i >= len(op.inputs) or op.inputs[i] < 0:
            raise ModelLoadError(f"{self.path}: operator {op.index} ({op.op_name}) needs input {i}")
        return self.sub.tensors[op.inputs[i]]

    def out_tensor(self, op: TflOperator, i: int = 0) -> TflTensor:
        if i >= len(op.outputs):
            raise ModelLoadError(f"{self.path}: operator {op.index} ({op.op_name}) needs output {i}, "
                                 f"it has {len(op.outputs)}")
        return self.sub.tensors[op.outputs[i]]

    def has_input(self, op: TflOperator, i: int) -> bool:
        return i < len(op.inputs) and op.inputs[i] >= 0

    def inp(self, op: TflOperator, i: int) -> str:
        """Input ``i`` as the operator computes on it: float for a quantised computed tensor."""
        t = self.tensor(op, i)
        name = self.names[t.index]
        value = self.graph.values.get(name)  # None: a branch reading the enclosing graph's value
        if value is None or value.quant is None or value.is_const:
            return name
        if name not in self._dequantized:
            q = value.quant
            if value.dtype is None:  # a malformed file: the builder reports it with the operator
                raise TypeError(f"{name!r} is quantised but has no type litert reads")
            self._dequantized[name] = self.emit(
                "DequantizeLinear", [name, self.const(q.scale.reshape(()), f"{name}_scale"),
                                     self.const(q.zero_point.reshape(()).astype(value.dtype.numpy), f"{name}_zp")],
                None, op)[0]
        return self._dequantized[name]

    def const_value(self, op: TflOperator, i: int) -> np.ndarray | None:
        if not self.has_input(op, i):
            return None
        value = self.graph.values.get(self.names[op.inputs[i]])
        return None if value is None else value.const

    def out(self, op: TflOperator, i: int = 0) -> str:
        """Where the operator writes output ``i``: the tensor, or a float name quantised into it."""
        t = self.out_tensor(op, i)
        name = self.names[t.index]
        value = self.graph.values[name]
        if value.quant is None:
            return name
        inner = self.fresh(f"{name}_float")
        q = value.quant

        def quantize():
            self.emit("QuantizeLinear", [inner, self.const(q.scale.reshape(()), f"{name}_scale"),
                                         self.const(q.zero_point.reshape(()).astype(value.dtype.numpy), f"{name}_zp")],
                      [name], op)
        self.after_quant.append(quantize)
        return inner

    def fold(self, op: TflOperator, data: np.ndarray) -> None:
        """Make output 0 of ``op`` the constant ``data`` (computed at load) instead of emitting a node."""
        value = self.graph.values[self.names[self.out_tensor(op).index]]
        value.const, value.dtype, value.shape, value.quant = data, DType.from_numpy(data.dtype), data.shape, None

    def shape(self, op: TflOperator, i: int) -> tuple[int, ...]:
        """The stored shape of input ``i`` (TFLite files carry every tensor's shape)."""
        return self.tensor(op, i).shape

    def fresh(self, base: str) -> str:
        return self.graph.unique_name(base if base.startswith(self.prefix) else self.prefix + base)

    def label(self, op: TflOperator) -> str:
        return f"op{op.index}"

    def unsupported(self, op: TflOperator, what: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"{self.path.name}: operator {op.index} ({op.op_name}): {what} is not supported",
            node=f"op{op.index}", op_type=op.op_name, domain="tflite")


def all_readers() -> dict:
    """Every operator litert reads: :data:`.read_ops.READERS` and the resource-variable ones."""
    from .control_flow import READERS as CONTROL_FLOW_READERS
    from .variables import READERS as VARIABLE_READERS

    return {**READERS, **VARIABLE_READERS, **CONTROL_FLOW_READERS}


def main_subgraph(tfl: TflFile) -> TflSubGraph:
    """The serving signature's subgraph when there is exactly one signature, else subgraph 0 (as TFLite runs)."""
    if len(tfl.signatures) == 1:
        return tfl.subgraphs[tfl.signatures[0]["subgraph"]]
    return tfl.subgraphs[0]


def build_graph(tfl: TflFile, options: LoadOptions) -> Graph:
    sub = main_subgraph(tfl)
    graph = Graph(name=Path(tfl.path).stem)
    b = GraphBuilder(tfl, sub, graph)
    if not sub.outputs:
        raise ModelLoadError(f"{tfl.path}: the model declares no outputs")
    for index in sub.inputs:
        t = sub.tensors[index]
        name = b.names[index]
        if t.is_const:
            raise ModelLoadError(f"{tfl.path}: input tensor {index} ({t.name!r}) is a constant")
        if t.dtype is None:
            raise UnsupportedOperatorError(f"{tfl.path.name}: input {t.name!r} has TensorType {t.type_id}, "
                                           "which litert does not read", node=name, op_type="input", domain="tflite")
        declare_input(graph, options, name, t.signature if t.signature is not None else t.shape, nhwc=True)
    check_input_shapes(options, graph)
    emit_operators(b)
    for index in sub.outputs:
        graph.outputs.append(b.names[index])
    transposes.optimize_loaded(graph, tfl.path)
    return graph


def emit_operators(b: GraphBuilder) -> None:
    """Every operator of ``b.sub`` into ``b.graph``, in file order, checking that each reads written tensors."""
    tfl, sub = b.tfl, b.sub
    written: set[int] = set(sub.inputs)
    for op in sub.operators:
        for i in op.inputs:
            t = sub.tensors[i] if i >= 0 else None
            if t is not None and not t.is_const and not t.is_variable and i not in written:
                raise ModelLoadError(f"{tfl.path}: operator {op.index} ({op.op_name}) reads tensor {i} ({t.name!r}), "
                                     "which no earlier operator writes")
        reader = all_readers().get(op.op_name)
        if reader is None:
            what = (f"custom operator {op.custom_code!r}" if op.op_name.startswith("CUSTOM")
                    else f"builtin operator {op.op_name}")
            raise UnsupportedOperatorError(f"{tfl.path.name}: operator {op.index}: {what} is not supported by litert",
                                           node=f"op{op.index}", op_type=op.op_name, domain="tflite")
        with malformed_as_load_error(f"{tfl.path}: operator {op.index} ({op.op_name}): malformed options or inputs"):
            reader(b, op)
            for fn in b.after_act + b.after_quant:
                fn()
        b.after_act.clear()
        b.after_quant.clear()
        written.update(op.outputs)
    for index in sub.outputs:
        if not sub.tensors[index].is_const and index not in written:
            raise ModelLoadError(f"{tfl.path}: subgraph {sub.index} output tensor {index} is written by no operator")


def operator_histogram(sub: TflSubGraph) -> Counter:
    return Counter(op.op_name for op in sub.operators)


class TfliteFrontend(FlatBufferFrontend):
    """TensorFlow Lite ``.tflite`` files (FlatBuffers, identifier TFL3)."""

    file_class = TflFile
    build_graph = staticmethod(build_graph)

    def metadata(self, tfl: TflFile) -> dict[str, str]:
        sub = main_subgraph(tfl)
        quantised = sum(1 for t in sub.tensors if t.quant is not None)
        return {
            "tflite.version": str(tfl.version),
            "tflite.description": tfl.description or "(empty)",
            "tflite.operators": histogram_text(operator_histogram(sub)),
            "tflite.subgraphs": str(len(tfl.subgraphs)),
            "tflite.tensors": str(len(sub.tensors)),
            "tflite.quantised_tensors": str(quantised),
            "tflite.weight_bytes": str(tfl.weight_bytes),
        }
