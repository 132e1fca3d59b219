"""Read a Caffe net (``.prototxt`` + ``.caffemodel``) into the litert IR (:class:`CaffeFrontend`).

Caffe names blobs, not values: a layer may write the blob it reads (the
in-place ReLU after a convolution), so each write becomes a new IR value.
The last write of a blob keeps the blob's own name (graph outputs are named
as Caffe names them); earlier writes are called ``blob@layer``.  Layers run
in file order, as in Caffe; the graph's inputs are the ``Input`` layers' tops
(or the net's deprecated ``input``/``input_shape`` fields, or a data layer's
first top with a shape from ``input_shapes``), its outputs the blobs that no
later layer reads.  Layers are filtered by the TEST phase's include/exclude
rules; the layer readers are in :mod:`.layers`.  Caffe data is NCHW, as the IR.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from litert.errors import ModelLoadError, UnsupportedOperatorError
from litert.formats import Frontend, LoadOptions
from litert.ir import DType, Graph, Model, Node, Value
from litert.limits import numel

from ..reading import check_input_shapes, histogram_text, malformed_as_load_error, translated_model
from . import caffe_pb2
from .files import read_net, read_weights, weight_file_for

#: layers that feed data from a database or memory: their first top is a graph input (shape from input_shapes)
DATA_LAYERS = frozenset({"Data", "ImageData", "HDF5Data", "WindowData", "MemoryData", "DummyData"})
#: layers with no effect on inference outputs (losses, metrics, Silence): left out
SKIPPED_LAYERS = frozenset({"Accuracy", "Silence", "SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss",
                            "HingeLoss", "InfogainLoss", "MultinomialLogisticLoss", "ContrastiveLoss"})


class CaffeBuilder:
    """Blob bookkeeping, weights, constants and node emission for the layer readers."""

    def __init__(self, path: Path, graph: Graph, weights: dict[str, list[np.ndarray]], last_writer: dict) -> None:
        self.path = path
        self.graph = graph
        self.weights = weights
        self.blobs: dict[str, str] = {}        # Caffe blob name -> its current IR value
        self.read: set[str] = set()            # IR values some layer read
        self._last_writer = last_writer         # blob name -> index of the last layer writing it
        self._layer_index = 0
        self._counter = 0

    # -- blobs ----------------------------------------------------------------

    def begin(self, index: int) -> None:
        """The layer at ``index`` (of the included layers) is read next: its tops are named by it."""
        self._layer_index = index

    def bottom(self, layer, i: int = 0) -> str:
        if i >= len(layer.bottom):
            raise ModelLoadError(f"{self.path}: layer {layer.name!r} ({layer.type}) needs bottom {i}")
        blob = layer.bottom[i]
        if blob not in self.blobs:
            raise ModelLoadError(f"{self.path}: layer {layer.name!r} reads blob {blob!r}, which no earlier layer "
                                 "writes")
        self.read.add(self.blobs[blob])
        return self.blobs[blob]

    def bottoms(self, layer) -> list[str]:
        return [self.bottom(layer, i) for i in range(len(layer.bottom))]

    def top(self, layer, i: int = 0) -> str:
        """The IR value for top ``i`` of the current layer (the blob's name when this is its last write)."""
        if i >= len(layer.top):
            raise ModelLoadError(f"{self.path}: layer {layer.name!r} ({layer.type}) needs top {i}")
        blob = layer.top[i]
        name = blob if self._last_writer.get(blob) == self._layer_index else f"{blob}@{layer.name}"
        if name in self.graph.values:
            name = self.graph.unique_name(name)
        self.graph.value(name)
        self.blobs[blob] = name
        return name

    def tops(self, layer) -> list[str]:
        return [self.top(layer, i) for i in range(len(layer.top))]

    # -- weights and constants ------------------------------------------------

    def blob(self, layer, i: int, shape) -> np.ndarray:
        """Weight blob ``i`` of ``layer`` reshaped to ``shape`` (legacy 4-D blobs hold the same values)."""
        blobs = self.weights.get(layer.name, [])
        if i >= len(blobs):
            raise ModelLoadError(f"{self.path}: layer {layer.name!r} ({layer.type}) has {len(blobs)} weight blobs in "
                                 f"the weight file, needs blob {i}")
        array = blobs[i]
        shape = tuple(int(d) for d in shape)
        if array.size != numel(shape):
            raise ModelLoadError(f"{self.path}: layer {layer.name!r} ({layer.type}) weight blob {i} has shape "
                                 f"{list(array.shape)}, expected {list(shape)}")
        return array.reshape(shape)

    def has_blob(self, layer, i: int) -> bool:
        return i < len(self.weights.get(layer.name, []))

    def const(self, array, base: str) -> str:
        array = np.ascontiguousarray(array)
        name = self.graph.unique_name(base)
        self.graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
        return name

    def int64(self, values, base: str) -> str:
        return self.const(np.asarray(values, np.int64), base)

    # -- nodes ----------------------------------------------------------------

    def emit(self, op_type: str, inputs, outputs, layer, **attrs) -> list[str]:
        """Append a node; ``outputs`` None gives one fresh intermediate value."""
        self._counter += 1
        outs = list(outputs) if outputs is not None else [self.graph.unique_name(f"{layer.name}/{op_type.lower()}")]
        for o in outs:
            self.graph.value(o)
        self.graph.nodes.append(Node(op_type, list(inputs), outs, dict(attrs),
                                     name=f"{layer.name}/{op_type}_{self._counter}"))
        return outs

    def shape(self, layer, name: str) -> tuple[int, ...]:
        """The static shape of value ``name`` (shape inference over the graph so far)."""
        from litert.schema.inference import infer_shapes

        value = self.graph.values.get(name)
        if value is None or not value.is_static:
            infer_shapes(self.graph)
            value = self.graph.values.get(name)
        if value is None or value.shape is None or not value.is_static:
            raise self.unsupported(layer, "an input of unknown or dynamic shape")
        return tuple(d for d in value.shape if isinstance(d, int))  # all of them: the value is static

    def unsupported(self, layer, what: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(f"{self.path.name}: layer {layer.name!r} ({layer.type}): {what} is not "
                                        "supported", node=layer.name, op_type=layer.type, domain="caffe")


def included(layer, state) -> bool:
    """Caffe's ``Net::StateMeetsRule``: the include rules (any passes) or else the exclude rules (none passes)."""
    if layer.include:
        return any(_meets(rule, state) for rule in layer.include)
    return not any(_meets(rule, state) for rule in layer.exclude)


def _meets(rule, state) -> bool:
    if rule.HasField("phase") and rule.phase != state.phase:
        return False
    if rule.HasField("min_level") and state.level < rule.min_level:
        return False
    if rule.HasField("max_level") and state.level > rule.max_level:
        return False
    stages = set(state.stage)
    return all(s in stages for s in rule.stage) and not any(s in stages for s in rule.not_stage)


def build_graph(path: Path, net, weights: dict[str, list[np.ndarray]], options: LoadOptions) -> Graph:
    from .layers import LAYERS

    state = caffe_pb2.NetState()
    state.CopyFrom(net.state)
    state.phase = caffe_pb2.TEST
    layers = [lyr for lyr in net.layer if included(lyr, state) and lyr.type not in SKIPPED_LAYERS]
    last_writer = {blob: i for i, lyr in enumerate(layers) for blob in lyr.top}
    graph = Graph(name=net.name or path.stem)
    b = CaffeBuilder(path, graph, weights, last_writer)
    _net_inputs(b, net, options)
    for index, layer in enumerate(layers):
        b.begin(index)
        if layer.type == "Input" or layer.type in DATA_LAYERS:
            _input_layer(b, layer, options)
            continue
        reader = LAYERS.get(layer.type)
        if reader is None:
            raise UnsupportedOperatorError(f"{path.name}: layer {layer.name!r}: Caffe layer type {layer.type!r} is "
                                           "not supported by litert", node=layer.name, op_type=layer.type,
                                           domain="caffe")
        with malformed_as_load_error(f"{path}: layer {layer.name!r} ({layer.type}): malformed parameters or weights"):
            reader(b, layer)
    check_input_shapes(options, graph)
    for name in b.blobs.values():
        if name not in b.read and name not in graph.inputs and name not in graph.outputs:
            graph.outputs.append(name)
    if not graph.outputs:
        raise ModelLoadError(f"{path}: the net has no outputs (every blob is read by a later layer)")
    return graph


def _add_input(b: CaffeBuilder, blob: str, dims, options: LoadOptions, where: str) -> None:
    name = blob
    if name in options.input_shapes:
        dims = options.input_shapes[name]
    if dims is None:
        raise ModelLoadError(f"{b.path}: input {name!r} ({where}) declares no shape; give one with --input-shape "
                             f"{name}:n,c,h,w (input_shapes=)")
    dims = tuple(int(d) for d in dims)
    if any(d <= 0 for d in dims):
        raise ModelLoadError(f"{b.path}: input {name!r} has dims {list(dims)}; Caffe inputs have positive dims")
    if name in b.graph.values:
        raise ModelLoadError(f"{b.path}: input blob {name!r} is declared twice")
    b.graph.values[name] = Value(name, DType.FLOAT32, dims)
    b.graph.inputs.append(name)
    b.blobs[name] = name


def _net_inputs(b: CaffeBuilder, net, options: LoadOptions) -> None:
    """The deprecated ``input:`` fields with ``input_shape`` or ``input_dim`` (4 per input)."""
    dims_4 = list(net.input_dim)
    for i, blob in enumerate(net.input):
        if i < len(net.input_shape):
            dims = [int(d) for d in net.input_shape[i].dim]
        elif len(dims_4) >= 4 * (i + 1):
            dims = dims_4[4 * i: 4 * i + 4]
        else:
            dims = None
        _add_input(b, blob, dims, options, "net input")


def _input_layer(b: CaffeBuilder, layer, options: LoadOptions) -> None:
    tops = list(layer.top)
    if layer.type == "Input":
        shapes = [[int(d) for d in s.dim] for s in layer.input_param.shape]
        for i, blob in enumerate(tops):
            dims = shapes[i] if i < len(shapes) else (shapes[0] if len(shapes) == 1 else None)
            _add_input(b, blob, dims, options, "Input layer")
        return
    if tops:  # a data layer: the data top only (labels feed losses, which inference leaves out)
        _add_input(b, tops[0], None, options, f"{layer.type} layer")


class CaffeFrontend(Frontend):
    """Caffe nets: a ``.prototxt`` (the net) with its ``.caffemodel`` (the weights), read without Caffe."""

    name = "caffe"
    extensions = (".prototxt",)

    def load(self, path: Path, options: LoadOptions) -> Model:
        net = read_net(path)
        weight_path = weight_file_for(path, options.weight_file)
        weights = read_weights(weight_path)
        graph = build_graph(path, net, weights, options)
        metadata = {"caffe.weight_file": str(weight_path),
                    "caffe.layers": histogram_text(Counter(layer.type for layer in net.layer))}
        return translated_model(graph, self.name, "Caffe", metadata)
