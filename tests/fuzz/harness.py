"""Fuzz harnesses of litert's model loaders (``.onnx``, ``.mindir``, ``.ms``, ``.tflite``, TensorFlow ``.pb``,
Caffe ``.prototxt`` + ``.caffemodel``), driven by atheris.

Each execution takes one seed model (the project's fixtures, a few
hand-made ONNX graphs and GraphDefs, the Caffe frontend's test nets),
mutates it and hands the result to ``litert.load``; when that succeeds, the
model is also run once on zeros (small inputs only, with a timeout).  The only outcomes allowed are success or an exception
from :mod:`litert.errors`.  Anything else is a finding: another exception
type (atheris reports it with its traceback), a crash or abort of the
process, a run longer than ``-timeout``, or memory beyond ``-rss_limit_mb``.

Mutations are *structural* for the protobuf formats (ONNX, MindIR, GraphDef, Caffe): most
byte-level mutants never get past the protobuf parser, so a fuzzed-data
provider picks fields of the parsed model (dims, names, attribute values,
edges, node order, repeated entries, the values of message maps such as a
GraphDef node's attributes) and rewrites them, optionally followed by a byte
flip or a truncation.  ``.ms`` and ``.tflite`` (FlatBuffers, no parser gate)
get byte mutations: flips, overwrites with interesting integers, truncation.

A Caffe model is two files, so a Caffe input (seed, mutant, committed
regression case) is one bytes string holding both: the prototxt's length as
8 bytes little-endian, the prototxt (text-format ``NetParameter``, no
weights), then the caffemodel (binary ``NetParameter`` with the weight blobs)
to the end (:func:`caffe_pair`, :func:`caffe_split`).  The seeds are the nets
of ``plugins/formats/tests/caffe_testlib.py``.  A mutant is made from the
seed's caffemodel (the whole net): structural mutations of the net, then the
prototxt is its text format with the blobs cleared and the caffemodel the
mutated net serialized, so both files describe the same mutated net;
sometimes the prototxt text (a number replaced by an interesting integer,
or byte mutations) or the caffemodel bytes (byte mutations) are mutated too.
``check`` writes ``case.prototxt`` and ``case.caffemodel`` side by side and
loads the prototxt (the reader finds the weights beside it).

Run one loader (libFuzzer flags after the loader name)::

    python tests/fuzz/harness.py onnx -runs=100000 -timeout=20 -rss_limit_mb=3072

Replay an artifact with ``python tests/fuzz/harness.py <loader> <artifact>``.  An artifact is the
fuzzer's data, which picks the seed and the mutations; the model it makes,
``Target(loader).mutant(data)``, is what a committed case in
``tests/fuzz/regressions/<loader>/`` holds (``Target.check`` replays it).

See ``docs/security.md`` for the long-run command and the recorded counts.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import struct
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
FORMATS = ("onnx", "mindir", "ms", "tflite", "tf", "caffe")
#: the file name extension litert dispatches each loader on
EXTENSIONS = {"onnx": "onnx", "mindir": "mindir", "ms": "ms", "tflite": "tflite", "tf": "pb", "caffe": "prototxt"}

INTERESTING_INTS = (0, 1, -1, 2, 3, -2, 7, 255, 2**15, 2**31 - 1, -(2**31), 2**32, 2**32 + 1, 2**56, 2**62,
                    2**63 - 1, -(2**63), 10**6, 10**12)
INTERESTING_FLOATS = (0.0, -0.0, 1.0, -1.0, 1e30, -1e30, float("inf"), float("-inf"), float("nan"), 1e-45)


# ---------------------------------------------------------------- seeds


def _onnx_seeds() -> list[bytes]:
    """Hand-made graphs over the loader's interesting paths, plus onnx's own node-test models."""
    from onnx import TensorProto as T
    from onnx import helper as h

    F = T.FLOAT

    def model(nodes, inputs, outputs, inits=(), opset=17):
        graph = h.make_graph(nodes, "g", [h.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                             [h.make_tensor_value_info(n, t, s) for n, t, s in outputs], list(inits))
        return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)]).SerializeToString()

    seeds = [
        model([h.make_node("Relu", ["x"], ["h"]), h.make_node("Neg", ["h"], ["y"])], [("x", F, [2, 3])], [("y", F, [2, 3])]),
        model([h.make_node("Slice", ["x", "st", "en"], ["y"])], [("x", F, [3, 4])], [("y", F, None)],
              [h.make_tensor("st", T.INT64, [1], [0]), h.make_tensor("en", T.INT64, [1], [2])], opset=13),
        model([h.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), h.make_node("Relu", ["c"], ["y"])],
              [("x", F, [1, 2, 5, 5])], [("y", F, None)], [h.make_tensor("w", F, [3, 2, 3, 3], [0.1] * 54)]),
        model([h.make_node("Shape", ["x"], ["s"]), h.make_node("Reshape", ["x", "s"], ["r"]),
               h.make_node("Tile", ["r", "reps"], ["y"])], [("x", F, ["N", 4])], [("y", F, None)],
              [h.make_tensor("reps", T.INT64, [2], [2, 1])]),
        model([h.make_node("ConstantOfShape", ["shape"], ["c"], value=h.make_tensor("v", F, [1], [1.0])),
               h.make_node("Add", ["x", "c"], ["y"])], [("x", F, [2, 2])], [("y", F, [2, 2])],
              [h.make_tensor("shape", T.INT64, [2], [2, 2])]),
        model([h.make_node("Upsample", ["x"], ["y"], scales=[1.0, 1.0, 2.0, 2.0])], [("x", F, [1, 1, 2, 2])],
              [("y", F, None)], opset=7),
        model([h.make_node("Cast", ["x"], ["y"], to=T.FLOAT)], [("x", T.STRING, [2])], [("y", F, [2])]),
    ]
    body = h.make_graph(
        [h.make_node("Identity", ["c"], ["c_out"]), h.make_node("Add", ["v", "one"], ["v_out"])], "body",
        [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("c", T.BOOL, []),
         h.make_tensor_value_info("v", F, [1])],
        [h.make_tensor_value_info("c_out", T.BOOL, []), h.make_tensor_value_info("v_out", F, [1])],
        [h.make_tensor("one", F, [1], [1.0])])
    seeds.append(model([h.make_node("Loop", ["n", "", "x"], ["y"], body=body)], [("x", F, [1])], [("y", F, [1])],
                       [h.make_tensor("n", T.INT64, [], [3])]))
    then = h.make_graph([h.make_node("Relu", ["x"], ["t"])], "then", [], [h.make_tensor_value_info("t", F, [2])])
    other = h.make_graph([h.make_node("Neg", ["x"], ["e"])], "else", [], [h.make_tensor_value_info("e", F, [2])])
    seeds.append(model([h.make_node("If", ["b"], ["y"], then_branch=then, else_branch=other)],
                       [("b", T.BOOL, []), ("x", F, [2])], [("y", F, [2])]))
    import onnx

    node_tests = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
    picks = ("test_gather_0", "test_matmul_2d", "test_softmax_axis_1", "test_concat_2d_axis_0", "test_resize_upsample_scales_nearest",
             "test_expand_dim_changed", "test_range_float_type_positive_delta", "test_scatter_elements_with_axis",
             "test_topk", "test_pad_constant", "test_lstm_defaults", "test_einsum_batch_matmul", "test_split_equal_parts_1d_opset18",
             "test_onehot_with_axis", "test_nonzero_example", "test_reduce_sum_keepdims_example", "test_sequence_map_identity_1_sequence",
             "test_scan9_sum", "test_range_int32_type_negative_delta_expanded", "test_layer_normalization_2d_axis0")
    for name in picks:
        path = node_tests / name / "model.onnx"
        if path.is_file():
            seeds.append(path.read_bytes())
    return seeds


def _tf_seeds() -> list[bytes]:
    """Hand-made frozen GraphDefs (tests/data has no ``.pb`` fixture): conv net, pooling, shape ops."""
    from litert_formats.tf import graph_pb2

    def graph(shape):
        g = graph_pb2.GraphDef()
        x = g.node.add(name="x", op="Placeholder")
        x.attr["dtype"].type = 1
        x.attr["shape"].shape.dim.extend([graph_pb2.TensorShapeProto.Dim(size=d) for d in shape])
        return g

    def const(g, name, array, dtype=1):
        node = g.node.add(name=name, op="Const")
        node.attr["dtype"].type = dtype
        node.attr["value"].tensor.dtype = dtype
        node.attr["value"].tensor.tensor_shape.dim.extend([graph_pb2.TensorShapeProto.Dim(size=d) for d in array.shape])
        node.attr["value"].tensor.tensor_content = array.tobytes()

    def window(node, key, values):
        node.attr[key].list.i.extend(values)

    conv = graph((1, 6, 6, 3))
    const(conv, "w", np.full((3, 3, 3, 4), 0.1, np.float32))
    const(conv, "b", np.arange(4, dtype=np.float32))
    node = conv.node.add(name="conv", op="Conv2D", input=["x", "w"])
    window(node, "strides", [1, 1, 1, 1])
    node.attr["padding"].s = b"SAME"
    conv.node.add(name="bias", op="BiasAdd", input=["conv", "b"])
    conv.node.add(name="relu", op="Relu6", input=["bias"])
    node = conv.node.add(name="pool", op="MaxPool", input=["relu"])
    window(node, "ksize", [1, 2, 2, 1]), window(node, "strides", [1, 2, 2, 1])
    node.attr["padding"].s = b"VALID"
    const(conv, "shape", np.array([1, 36], np.int32), dtype=3)
    conv.node.add(name="flat", op="Reshape", input=["pool", "shape"])
    const(conv, "fc", np.full((36, 5), 0.01, np.float32))
    conv.node.add(name="mm", op="MatMul", input=["flat", "fc"])
    conv.node.add(name="y", op="Softmax", input=["mm"])

    shapes = graph((2, 4, 3))
    const(shapes, "axis", np.array(1, np.int32), dtype=3)
    shapes.node.add(name="cat", op="ConcatV2", input=["x", "x", "axis"]).attr["N"].i = 2
    const(shapes, "perm", np.array([0, 2, 1], np.int32), dtype=3)
    shapes.node.add(name="t", op="Transpose", input=["cat", "perm"])
    const(shapes, "mean_axes", np.array([2], np.int32), dtype=3)
    shapes.node.add(name="mean", op="Mean", input=["t", "mean_axes"]).attr["keep_dims"].b = True
    shapes.node.add(name="sub", op="Sub", input=["t", "mean"])
    const(shapes, "split_dim", np.array(1, np.int32), dtype=3)
    shapes.node.add(name="y", op="Split", input=["split_dim", "sub"]).attr["num_split"].i = 3

    pooled = graph((1, 5, 5, 2))
    node = pooled.node.add(name="avg", op="AvgPool", input=["x"])
    window(node, "ksize", [1, 3, 3, 1]), window(node, "strides", [1, 1, 1, 1])
    node.attr["padding"].s = b"SAME"
    const(pooled, "pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32), dtype=3)
    pooled.node.add(name="pad", op="Pad", input=["avg", "pads"])
    const(pooled, "size", np.array([8, 8], np.int32), dtype=3)
    pooled.node.add(name="y", op="ResizeBilinear", input=["pad", "size"])
    return [g.SerializeToString() for g in (conv, shapes, pooled)]


def caffe_pair(prototxt: bytes, caffemodel: bytes) -> bytes:
    """One Caffe input: the prototxt's length (8 bytes, little-endian), the prototxt, the caffemodel."""
    return struct.pack("<Q", len(prototxt)) + prototxt + caffemodel


def caffe_split(data: bytes) -> tuple[bytes, bytes]:
    """``(prototxt, caffemodel)`` of :func:`caffe_pair`'s encoding; a length past the end leaves the caffemodel
    empty (so any bytes are an input)."""
    size = struct.unpack("<Q", data[:8].ljust(8, b"\0"))[0]
    return data[8 : 8 + size], data[8 + size :]


def _caffe_files(net) -> bytes:
    """``net`` as its pair of files: the prototxt without the weight blobs, the caffemodel with them."""
    from google.protobuf import text_format

    structure = type(net)()
    structure.CopyFrom(net)
    for layer in [*structure.layer, *structure.layers]:
        del layer.blobs[:]
    return caffe_pair(text_format.MessageToString(structure).encode(), net.SerializeToString())


def _caffe_seeds() -> list[bytes]:
    """The Caffe frontend's test nets (LeNet, VGG and ResNet blocks, SqueezeNet, MobileNet, a mix of the rest)."""
    sys.path.insert(0, str(ROOT / "plugins" / "formats" / "tests"))
    import caffe_testlib

    return [_caffe_files(build().net) for build in caffe_testlib.NETS.values()]


def _file_seeds(fmt: str) -> list[bytes]:
    """The fixtures in tests/data/<format>/ under 300 kB."""
    paths = sorted((DATA / fmt).glob(f"*.{EXTENSIONS[fmt]}"), key=lambda p: p.stat().st_size)
    return [p.read_bytes() for p in paths if p.stat().st_size < 300_000]


#: each format's seeds (the fixtures in tests/data/<format>/ for the others)
SEEDS = {"onnx": _onnx_seeds, "tf": _tf_seeds, "caffe": _caffe_seeds}


def seeds(fmt: str) -> list[bytes]:
    return SEEDS[fmt]() if fmt in SEEDS else _file_seeds(fmt)


# ---------------------------------------------------------------- mutations


def _onnx_model():
    from onnx import ModelProto

    return ModelProto


def _mindir_model():
    from litert_formats.mindir.mind_ir_pb2 import ModelProto

    return ModelProto


def _tf_graph():
    from litert_formats.tf.graph_pb2 import GraphDef

    return GraphDef


def _caffe_net():
    from litert_formats.caffe.caffe_pb2 import NetParameter

    return NetParameter


#: the top-level protobuf message of each structurally mutated format
PROTO_CLASSES = {"onnx": _onnx_model, "mindir": _mindir_model, "tf": _tf_graph, "caffe": _caffe_net}


def _proto_class(fmt: str):
    return PROTO_CLASSES[fmt]()


def _slots(message, out: list, strings: list) -> None:
    """Every mutable place of ``message``: scalar fields, repeated items, repeated fields."""
    for field, value in message.ListFields():
        repeated = getattr(field, "is_repeated", None)
        repeated = field.label == field.LABEL_REPEATED if repeated is None else repeated
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:  # map<key, message>: mutate the values
                if field.message_type.fields_by_name["value"].message_type is not None:
                    for item in list(value.values())[:16]:
                        _slots(item, out, strings)
                continue
            if repeated:
                out.append(("list", message, field))
                for item in list(value)[:64]:
                    _slots(item, out, strings)
            else:
                _slots(value, out, strings)
        elif repeated:
            out.append(("list", message, field))
            out.extend(("item", message, field, i) for i in range(min(len(value), 16)))
            if field.type == field.TYPE_STRING:
                strings.extend(value[:16])
        else:
            out.append(("scalar", message, field))
            if field.type == field.TYPE_STRING:
                strings.append(value)


def _new_value(fdp, field, old, strings: list):
    t = field.type
    if t == field.TYPE_STRING:
        choice = fdp.ConsumeIntInRange(0, 3)
        if choice == 0 and strings:
            return strings[fdp.ConsumeIntInRange(0, len(strings) - 1)]  # rewire an edge / reuse a name
        if choice == 1:
            return ""
        return fdp.ConsumeUnicodeNoSurrogates(8)
    if t == field.TYPE_BYTES:
        if old and fdp.ConsumeBool():
            return old[: fdp.ConsumeIntInRange(0, len(old))]
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    if t == field.TYPE_BOOL:
        return not old
    if t in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
        return INTERESTING_FLOATS[fdp.ConsumeIntInRange(0, len(INTERESTING_FLOATS) - 1)]
    if t == field.TYPE_ENUM:
        return fdp.ConsumeIntInRange(0, 40)
    if fdp.ConsumeBool():
        return INTERESTING_INTS[fdp.ConsumeIntInRange(0, len(INTERESTING_INTS) - 1)]
    return int(old) + fdp.ConsumeIntInRange(-3, 3) if isinstance(old, int) else fdp.ConsumeIntInRange(-4, 64)


def _mutate_list(fdp, message, field) -> None:
    items = getattr(message, field.name)
    n = len(items)
    action = fdp.ConsumeIntInRange(0, 3)
    if action == 0 and n:
        del items[fdp.ConsumeIntInRange(0, n - 1)]
    elif action == 1 and n:
        source = items[fdp.ConsumeIntInRange(0, n - 1)]
        if field.message_type is not None:
            items.add().CopyFrom(source)
        else:
            items.append(source)
    elif action == 2 and n >= 2:  # reorder: swap two entries (nodes out of order, inputs swapped)
        i, j = fdp.ConsumeIntInRange(0, n - 1), fdp.ConsumeIntInRange(0, n - 1)
        if field.message_type is not None:
            a, b = type(items[i])(), type(items[j])()
            a.CopyFrom(items[i]), b.CopyFrom(items[j])
            items[i].CopyFrom(b), items[j].CopyFrom(a)
        else:
            items[i], items[j] = items[j], items[i]
    elif action == 3:
        message.ClearField(field.name)


def mutate_message(proto, fdp) -> None:
    """One to four structural mutations of the parsed message ``proto``, in place."""
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        slots: list = []
        strings: list = []
        _slots(proto, slots, strings)
        if not slots:
            break
        slot = slots[fdp.ConsumeIntInRange(0, len(slots) - 1)]
        try:
            if slot[0] == "list":
                _mutate_list(fdp, slot[1], slot[2])
            elif slot[0] == "item":
                _, message, field, index = slot
                values = getattr(message, field.name)
                values[index] = _new_value(fdp, field, values[index], strings)
            else:
                _, message, field = slot
                setattr(message, field.name, _new_value(fdp, field, getattr(message, field.name), strings))
        except (ValueError, TypeError, IndexError):
            pass  # a value out of the field's range: try another mutation


def mutate_proto(fmt: str, seed: bytes, fdp) -> bytes:
    """A protobuf model: structural mutations, then sometimes byte mutations of the serialized mutant."""
    proto = _proto_class(fmt)()
    proto.ParseFromString(seed)
    mutate_message(proto, fdp)
    data = proto.SerializeToString()
    if fdp.ConsumeIntInRange(0, 7) == 0:
        data = mutate_bytes(data, fdp)
    return data


def mutate_caffe(seed: bytes, fdp) -> bytes:
    """A Caffe pair: the seed's net (its caffemodel) mutated structurally and written as both files; then
    sometimes the prototxt text or the caffemodel bytes mutated byte-wise."""
    net = _caffe_net()()
    net.ParseFromString(caffe_split(seed)[1])
    mutate_message(net, fdp)
    prototxt, caffemodel = caffe_split(_caffe_files(net))
    which = fdp.ConsumeIntInRange(0, 7)
    if which == 0:
        prototxt = mutate_text(prototxt, fdp)
    elif which == 1:
        caffemodel = mutate_bytes(caffemodel, fdp)
    return caffe_pair(prototxt, caffemodel)


def mutate_text(text: bytes, fdp) -> bytes:
    """A text file: a number in it replaced by an interesting integer (in decimal), else byte mutations."""
    numbers = list(re.finditer(rb"-?\d+", text))
    if numbers and fdp.ConsumeBool():
        match = numbers[fdp.ConsumeIntInRange(0, len(numbers) - 1)]
        value = INTERESTING_INTS[fdp.ConsumeIntInRange(0, len(INTERESTING_INTS) - 1)]
        return text[: match.start()] + str(value).encode() + text[match.end() :]
    return mutate_bytes(text, fdp)


def mutate_bytes(data: bytes, fdp) -> bytes:
    buf = bytearray(data)
    for _ in range(fdp.ConsumeIntInRange(1, 8)):
        if not buf:
            break
        action = fdp.ConsumeIntInRange(0, 3)
        pos = fdp.ConsumeIntInRange(0, len(buf) - 1)
        if action == 0:
            buf[pos] ^= 1 << fdp.ConsumeIntInRange(0, 7)
        elif action == 1:
            value = INTERESTING_INTS[fdp.ConsumeIntInRange(0, len(INTERESTING_INTS) - 1)]
            packed = struct.pack("<q", max(min(value, 2**63 - 1), -(2**63)))[: fdp.ConsumeIntInRange(1, 8)]
            buf[pos : pos + len(packed)] = packed
        elif action == 2:
            buf[pos] = fdp.ConsumeIntInRange(0, 255)
        else:
            del buf[pos:]
    return bytes(buf)


#: how each format's seed becomes a mutant, ``mutator(seed, fdp)``: protobuf structurally, FlatBuffers byte-wise
MUTATORS = {"onnx": partial(mutate_proto, "onnx"), "mindir": partial(mutate_proto, "mindir"),
            "tf": partial(mutate_proto, "tf"), "caffe": mutate_caffe, "ms": mutate_bytes, "tflite": mutate_bytes}


# ---------------------------------------------------------------- the target


class Target:
    """One loader under fuzzing: seeds, a scratch directory, and the check of one input."""

    def __init__(self, fmt: str, workdir: Path | None = None) -> None:
        import litert
        from litert.limits import set_memory_limit

        self.litert = litert
        self.fmt = fmt
        self.seeds = seeds(fmt)
        # every execution writes its mutant to a file (litert.load takes a path): in memory where there is a tmpfs
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix=f"litert-fuzz-{fmt}-", dir=shm))
        self.dir.mkdir(parents=True, exist_ok=True)
        if fmt == "mindir":  # external data of the split-weights fixture sits next to the graph
            shutil.copytree(DATA / "mindir" / "lenet5_split_variables", self.dir / "lenet5_split_variables",
                            dirs_exist_ok=True)
        self.path = self.dir / f"case.{EXTENSIONS[fmt]}"
        self.write = WRITERS.get(fmt, _write_file)
        set_memory_limit(512 * 2**20)  # hostile sizes must be refused, not attempted

    def mutant(self, data: bytes) -> bytes:
        import atheris

        fdp = atheris.FuzzedDataProvider(data)
        seed = self.seeds[fdp.ConsumeIntInRange(0, len(self.seeds) - 1)]
        return MUTATORS[self.fmt](seed, fdp)

    def check(self, model_bytes: bytes) -> None:
        """Load (and run once, small inputs only) ``model_bytes``; only litert errors may escape."""
        self.write(self.path, model_bytes)
        try:
            session = self.litert.load(self.path)
            feeds = _zeros(session)
            if feeds is not None:
                session.predict(feeds, timeout=2.0)
        except self.litert.errors.LitertError:
            pass

    def __call__(self, data: bytes) -> None:
        self.check(self.mutant(data))


def _write_file(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _write_caffe(path: Path, data: bytes) -> None:
    """The pair's prototxt to ``path`` (``case.prototxt``), its caffemodel beside it (``case.caffemodel``)."""
    prototxt, caffemodel = caffe_split(data)
    path.write_bytes(prototxt)
    path.with_suffix(".caffemodel").write_bytes(caffemodel)


#: how an input becomes the model file(s) litert.load reads (one file as it is, unless listed)
WRITERS = {"caffe": _write_caffe}


def _zeros(session) -> list | None:
    """Zero inputs when every input is a small static tensor, else None (not run)."""
    feeds, total = [], 0
    for info in session.inputs:
        if info.shape is None or info.dtype is None or not all(isinstance(d, int) for d in info.shape):
            return None
        # every dim too: numpy refuses (0, 2**40, 2**40) although it holds nothing, and a negative dim outright
        if any(d < 0 or d > 1 << 16 for d in info.shape):
            return None
        count = math.prod(info.shape)  # exact: an int64 product of hostile dims wraps
        total += count
        if total > 1 << 16 or info.dtype.numpy is None:
            return None
        feeds.append(np.zeros(info.shape, info.dtype.numpy) if info.dtype.numpy != np.dtype(object)
                     else np.full(info.shape, "", dtype=object))
    return feeds


def main(argv: list[str]) -> None:
    import atheris

    if len(argv) < 2 or argv[1] not in FORMATS:
        sys.exit(f"usage: {argv[0]} {{{','.join(FORMATS)}}} [libFuzzer flags]")
    fmt = argv[1]
    os.environ.setdefault("LITERT_PLUGINS", "litert-cpu,litert-formats,litert-ascend,litert-kirin-npu")
    import logging

    logging.disable(logging.CRITICAL)  # a logged warning per mutant would drown the fuzzer's output
    with atheris.instrument_imports(include=["litert", "litert_formats", "litert_cpu"]):
        import litert  # noqa: F401
        import litert_cpu  # noqa: F401
        import litert_formats  # noqa: F401

        target = Target(fmt)
        for seed in target.seeds:  # the readers and kernels are imported on first use: instrument them too
            target.check(seed)
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
