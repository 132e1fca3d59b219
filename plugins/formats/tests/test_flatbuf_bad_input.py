"""Bad .ms and .tflite files give a typed litert error, never a crash, a traceback or a huge allocation.

One parametrised set over both FlatBuffers formats: each committed fixture
gets single fields patched at the byte positions the schema's slot tables
give (so each test breaks exactly one thing), plus truncations at many cut
points and random byte flips.  What only one format has (TFLite's buffer
and operator-code indices, custom operators) follows at the end.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from flatbuffers.table import Table

import litert
from litert.errors import LitertError, ModelLoadError, UnsupportedOperatorError
from litert.runtime.loading import read_model
from litert_formats.flatbuf.read import read_table
from litert_formats.flatbuf.schema import Schema
from litert_formats.flatbuf.verify import verify
from litert_formats.ms.schema import SCHEMA as MS
from litert_formats.tflite.schema import SCHEMA as TFLITE

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"


class At:
    """One table of a patched file: its schema name and byte position."""

    def __init__(self, buf: bytearray, schema: Schema, table: str, pos: int) -> None:
        self.buf, self.schema, self.table, self.pos = buf, schema, table, pos

    def _offset(self, field: str) -> int:
        offset = Table(bytes(self.buf), self.pos).Offset(self.schema.fields[self.table][field].voffset)
        assert offset, f"{self.table}.{field} is absent from the fixture"
        return offset

    def field_pos(self, field: str) -> int:
        """Where the field's scalar or offset is stored."""
        return self.pos + self._offset(field)

    def vector_start(self, field: str) -> int:
        """Where element 0 of a vector field is (its length is the 4 bytes before)."""
        return Table(bytes(self.buf), self.pos).Vector(self._offset(field))

    def get(self, field: str):
        return read_table(self.schema, bytes(self.buf), self.pos, self.table)[field]

    def child(self, field: str, index: int | None = None) -> At:
        """A table field, or element ``index`` of a vector of tables."""
        f = self.schema.fields[self.table][field]
        tab = Table(bytes(self.buf), self.pos)
        item = self.pos + self._offset(field) if index is None else self.vector_start(field) + 4 * index
        return At(self.buf, self.schema, f.arg, tab.Indirect(item))

    def children(self, field: str) -> list[At]:
        return [self.child(field, i) for i in range(len(self.get(field)))]


class Patcher:
    """A writable copy of a fixture, navigable by schema field names."""

    def __init__(self, case: Case, source: Path | None = None) -> None:
        self.case = case
        self.buf = bytearray((source or case.source).read_bytes())
        root = verify(bytes(self.buf), case.schema).root()
        self.root = At(self.buf, case.schema, case.schema.root, root)
        self.graph = case.graph(self.root)

    def put_u32(self, pos: int, value: int) -> None:
        struct.pack_into("<I", self.buf, pos, value)

    def save(self, tmp_path: Path, name: str = "bad") -> Path:
        path = tmp_path / (name + self.case.suffix)
        path.write_bytes(bytes(self.buf))
        return path


@dataclass
class Case:
    """Where each format keeps the things the tests break, and what it says about them."""

    name: str
    schema: Schema
    sources: list[Path]
    #: the table holding tensors, operators and graph outputs (MetaGraph; TFLite's first SubGraph)
    graph: Callable[[At], At]
    operators: str
    operator_inputs: str
    operator_outputs: str
    tensors: str
    graph_outputs: str
    graph_output_message: str
    dims: str
    #: (table holding a weight's bytes) for a patcher, and the message naming that vector
    weight_data: Callable[[Patcher], At]
    data_message: str
    #: a tensor or node with a name: the message when its name offset points outside
    named: Callable[[Patcher], At]
    named_message: str
    #: (union tag position, error, message) for a tag past the operator union
    unknown_tag: Callable[[Patcher], int]
    unknown_tag_error: type
    unknown_tag_message: str

    @property
    def source(self) -> Path:
        return self.sources[0]

    @property
    def suffix(self) -> str:
        return self.source.suffix


def _largest_tflite_buffer(p: Patcher) -> At:
    return max(p.root.children("buffers"), key=lambda b: b.get("data").size if b.get("data") is not None else 0)


def _ms_weight(p: Patcher) -> At:
    return next(t for t in p.graph.children("allTensors") if t.get("data") is not None and t.get("data").size > 100)


CASES = [
    Case("ms", MS, [DATA / "ms" / "small_cnn.ms"], graph=lambda root: root, operators="nodes",
         operator_inputs="inputIndex", operator_outputs="outputIndex", tensors="allTensors",
         graph_outputs="outputIndex", graph_output_message="outputIndex names tensor 999", dims="dims",
         weight_data=_ms_weight, data_message="Tensor.data", named=lambda p: p.graph.child("nodes", 1),
         named_message="CNode.name",
         unknown_tag=lambda p: p.graph.child("nodes", 2).child("primitive").field_pos("value_type"),
         unknown_tag_error=UnsupportedOperatorError, unknown_tag_message="PrimitiveType #250|primitive type #250"),
    Case("tflite", TFLITE, [DATA / "tflite" / "small_cnn.tflite", DATA / "tflite" / "small_cnn_int8.tflite"],
         graph=lambda root: root.child("subgraphs", 0), operators="operators", operator_inputs="inputs",
         operator_outputs="outputs", tensors="tensors", graph_outputs="outputs",
         graph_output_message="output names tensor 999", dims="shape", weight_data=_largest_tflite_buffer,
         data_message="Buffer.data", named=lambda p: p.graph.child("tensors", 2), named_message="Tensor.name",
         unknown_tag=lambda p: p.graph.child("operators", 0).field_pos("builtin_options_type"),
         unknown_tag_error=ModelLoadError, unknown_tag_message="options of unknown type #250"),
]
MS_CASE, TFLITE_CASE = CASES
SOURCES = [(case, source) for case in CASES for source in case.sources]
by_format = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
by_source = pytest.mark.parametrize(("case", "source"), SOURCES, ids=[s.name for _, s in SOURCES])


@by_source
def test_truncated_files(tmp_path, case, source):
    data = source.read_bytes()
    cuts = sorted({0, 3, 7, 8, 16, 64, 255, *range(0, len(data), max(1, len(data) // 30)), len(data) - 200,
                   len(data) - 1})
    for cut in cuts:
        path = tmp_path / f"cut{cut}{case.suffix}"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError):
            read_model(path)


@by_format
def test_wrong_file_identifier(tmp_path, case):
    p = Patcher(case)
    other = next(c for c in CASES if c is not case).schema.file_identifier
    p.buf[4:8] = other
    path = p.save(tmp_path)
    with pytest.raises(ModelLoadError, match="identifier"):
        read_model(path, case.name)
    with pytest.raises(ModelLoadError, match="identifier"):
        read_model(path)  # chosen by the suffix: still a clear error


@by_format
def test_out_of_range_operator_input(tmp_path, case):
    p = Patcher(case)
    p.put_u32(p.graph.child(case.operators, 0).vector_start(case.operator_inputs), 12345)
    with pytest.raises(ModelLoadError, match="names tensor 12345"):
        read_model(p.save(tmp_path))


@by_format
def test_out_of_range_graph_output(tmp_path, case):
    p = Patcher(case)
    p.put_u32(p.graph.vector_start(case.graph_outputs), 999)
    with pytest.raises(ModelLoadError, match=case.graph_output_message):
        read_model(p.save(tmp_path))


@by_format
def test_vector_length_past_the_end(tmp_path, case):
    p = Patcher(case)
    p.put_u32(p.graph.vector_start(case.tensors) - 4, 0x7FFFFFFF)  # a length a naive reader would loop over
    with pytest.raises(ModelLoadError, match="outside"):
        read_model(p.save(tmp_path))


@by_format
def test_weight_data_length_past_the_end(tmp_path, case):
    p = Patcher(case)
    p.put_u32(case.weight_data(p).vector_start("data") - 4, 0xFFFFFF00)
    with pytest.raises(ModelLoadError, match=case.data_message):
        read_model(p.save(tmp_path))


@by_format
def test_data_size_disagrees_with_dims(tmp_path, case):
    p = Patcher(case)
    tensors = p.graph.children(case.tensors)
    if case is MS_CASE:
        weight = next(t for t in tensors if t.get("data") is not None and t.get("data").size > 100)
    else:
        buffers = p.root.get("buffers")
        weight = next(t for t in tensors if (buffers[t.get("buffer")]["data"] is not None
                                             and buffers[t.get("buffer")]["data"].size > 100))
    p.put_u32(weight.vector_start(case.dims), 1 << 30)  # a 2**30-row weight: no allocation, an error
    with pytest.raises(ModelLoadError, match=f"data bytes for {case.dims}"):
        read_model(p.save(tmp_path))


@by_format
def test_offset_pointing_outside(tmp_path, case):
    p = Patcher(case)
    p.put_u32(case.named(p).field_pos("name"), 0x7FFFFFF0)
    with pytest.raises(ModelLoadError, match=case.named_message):
        read_model(p.save(tmp_path))


@by_format
def test_unknown_operator_union_tag(tmp_path, case):
    p = Patcher(case)
    p.buf[case.unknown_tag(p)] = 250  # past the union: the verifier leaves the member alone, the reader refuses it
    with pytest.raises(case.unknown_tag_error, match=case.unknown_tag_message):
        read_model(p.save(tmp_path))


@by_format
def test_missing_empty_and_directory(tmp_path, case):
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / f"absent{case.suffix}")
    (tmp_path / f"empty{case.suffix}").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        read_model(tmp_path / f"empty{case.suffix}")
    (tmp_path / f"dir{case.suffix}").mkdir()
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / f"dir{case.suffix}")


@by_source
def test_random_corruption_never_escapes_as_a_bare_exception(tmp_path, case, source):
    data = source.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"loaded": 0, "error": 0}
    for trial in range(120):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 6))):
            buf[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"fuzz{trial}{case.suffix}"
        path.write_bytes(bytes(buf))
        try:
            read_model(path)
            outcomes["loaded"] += 1
        except LitertError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == 120


@by_format
def test_cli_prints_one_line(tmp_path, case):
    path = tmp_path / f"trunc{case.suffix}"
    path.write_bytes(case.source.read_bytes()[:100])
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "info", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if "plugin" not in line]
    assert len(lines) == 1 and f"not a valid {case.suffix} file" in lines[0] and "Traceback" not in result.stderr


@by_format
def test_load_api_raises_typed_errors(tmp_path, case):
    path = tmp_path / f"x{case.suffix}"
    path.write_bytes(b"\x10\x00\x00\x00" + case.schema.file_identifier + b"\x00" * 8)
    with pytest.raises(ModelLoadError):
        litert.load(path)


# ---------------------------------------------------------------- what one format has


def test_ms_primitive_litert_does_not_map(tmp_path):
    """A schema primitive without a reader (an empty table, so the bytes stay valid): named with its node."""
    p = Patcher(MS_CASE)
    node = p.graph.child("nodes", 2)
    p.buf[node.child("primitive").field_pos("value_type")] = MS.unions["PrimitiveType"].index("AddGrad")
    with pytest.raises(UnsupportedOperatorError, match="AddGrad") as err:
        read_model(p.save(tmp_path))
    assert err.value.node == node.get("name") and err.value.op_type == "AddGrad"


def test_ms_unknown_primitive_names_its_node(tmp_path):
    p = Patcher(MS_CASE)
    node = p.graph.child("nodes", 2)
    p.buf[node.child("primitive").field_pos("value_type")] = 250
    with pytest.raises(UnsupportedOperatorError) as err:
        read_model(p.save(tmp_path))
    assert err.value.node == node.get("name") and node.get("name") in str(err.value)


def test_ms_node_reading_an_unwritten_tensor(tmp_path):
    p = Patcher(MS_CASE)
    first = p.graph.child("nodes", 0)
    first_out = int(first.get("outputIndex")[0])
    p.put_u32(first.vector_start("outputIndex"), len(p.graph.get("allTensors")) - 1)
    with pytest.raises(ModelLoadError, match=f"reads tensor {first_out}|is written by no node|is a constant"):
        read_model(p.save(tmp_path))


def test_tflite_operator_reading_an_unwritten_tensor(tmp_path):
    p = Patcher(TFLITE_CASE)
    last = p.graph.children("operators")[-1]
    p.put_u32(p.graph.child("operators", 0).vector_start("outputs"), int(last.get("outputs")[0]))
    with pytest.raises(ModelLoadError, match="which no earlier operator writes"):
        read_model(p.save(tmp_path))


def test_tflite_out_of_range_buffer_index(tmp_path):
    p = Patcher(TFLITE_CASE)
    p.put_u32(p.graph.child("tensors", 1).field_pos("buffer"), 77777)
    with pytest.raises(ModelLoadError, match="buffer 77777"):
        read_model(p.save(tmp_path))


def test_tflite_out_of_range_operator_code(tmp_path):
    p = Patcher(TFLITE_CASE)
    op = next(op for op in p.graph.children("operators") if op.get("opcode_index"))
    p.put_u32(op.field_pos("opcode_index"), 300)
    with pytest.raises(ModelLoadError, match="operator code 300"):
        read_model(p.save(tmp_path))


def _code(op_name: str) -> int:
    return TFLITE.enums["BuiltinOperator"][op_name]


def _code_positions(p: Patcher, op_name: str) -> tuple[int, int]:
    code = next(c for c in p.root.children("operator_codes")
                if max(c.get("builtin_code"), c.get("deprecated_builtin_code")) == _code(op_name))
    return code.field_pos("deprecated_builtin_code"), code.field_pos("builtin_code")


@pytest.mark.parametrize(("replacement", "message"), [("LSH_PROJECTION", "LSH_PROJECTION"),
                                                     ("CUSTOM", "custom operator")])
def test_tflite_operator_litert_does_not_map_is_named(tmp_path, replacement, message):
    p = Patcher(TFLITE_CASE)
    small, large = _code_positions(p, "SOFTMAX")
    p.buf[small] = _code(replacement)
    p.put_u32(large, _code(replacement))
    with pytest.raises(UnsupportedOperatorError, match=message) as err:
        read_model(p.save(tmp_path))
    assert err.value.op_type.startswith(replacement) and err.value.node.startswith("op")
