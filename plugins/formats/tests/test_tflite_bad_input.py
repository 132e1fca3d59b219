"""Bad .tflite files give a typed litert error, never a crash, a traceback or a huge allocation.

The file is a committed fixture (``tests/data/tflite``) with single fields
patched at the byte positions the generated accessors report, so each test
breaks exactly one thing, plus truncations at many cut points and random
byte flips (the ``.ms`` tests' style).
"""
from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest
from tflite_testlib import DATA

import litert
from litert.errors import LitertError, ModelLoadError, UnsupportedOperatorError
from litert.runtime.loading import read_model
from litert_formats.ms.verify import verify
from litert_formats.tflite.schema import layout
from litert_formats.tflite.tflfile import _wrap

SOURCE = DATA / "small_cnn.tflite"
SOURCES = [SOURCE, DATA / "small_cnn_int8.tflite"]


def _slot(table: str, field: str) -> int:
    """The vtable offset (4 + 2 * id) of ``table.field``."""
    return 4 + 2 * [f for f, _, _ in layout.TABLES[table]].index(field)


class Patcher:
    """A writable copy of a fixture and the positions of its fields."""

    def __init__(self, source=SOURCE) -> None:
        self.buf = bytearray(source.read_bytes())
        self.model = _wrap("Model", bytes(self.buf), verify(bytes(self.buf), layout).root())
        self.sub = self.model.Subgraphs(0)

    def field_pos(self, obj, table: str, field: str) -> int:
        offset = obj._tab.Offset(_slot(table, field))
        assert offset, f"{table}.{field} is absent from the fixture"
        return obj._tab.Pos + offset

    def vector_start(self, obj, table: str, field: str) -> int:
        return obj._tab.Vector(obj._tab.Offset(_slot(table, field)))

    def put_u32(self, pos: int, value: int) -> None:
        struct.pack_into("<I", self.buf, pos, value)

    def save(self, tmp_path, name: str = "bad.tflite"):
        path = tmp_path / name
        path.write_bytes(bytes(self.buf))
        return path


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_truncated_files(tmp_path, source):
    data = source.read_bytes()
    cuts = sorted({0, 3, 7, 8, 16, 64, 255, *range(0, len(data), max(1, len(data) // 30)), len(data) - 1})
    for cut in cuts:
        path = tmp_path / f"cut{cut}.tflite"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError):
            read_model(path)


def test_wrong_file_identifier(tmp_path):
    p = Patcher()
    p.buf[4:8] = b"MSL2"
    with pytest.raises(ModelLoadError, match="identifier"):
        read_model(p.save(tmp_path))  # chosen by the suffix: still a clear error


def test_out_of_range_operator_input(tmp_path):
    p = Patcher()
    p.put_u32(p.vector_start(p.sub.Operators(0), "Operator", "inputs"), 12345)
    with pytest.raises(ModelLoadError, match="names tensor 12345"):
        read_model(p.save(tmp_path))


def test_out_of_range_graph_output(tmp_path):
    p = Patcher()
    p.put_u32(p.vector_start(p.sub, "SubGraph", "outputs"), 999)
    with pytest.raises(ModelLoadError, match="output names tensor 999"):
        read_model(p.save(tmp_path))


def test_out_of_range_buffer_index(tmp_path):
    p = Patcher()
    p.put_u32(p.field_pos(p.sub.Tensors(1), "Tensor", "buffer"), 77777)
    with pytest.raises(ModelLoadError, match="buffer 77777"):
        read_model(p.save(tmp_path))


def test_out_of_range_operator_code(tmp_path):
    p = Patcher()
    op = next(p.sub.Operators(i) for i in range(p.sub.OperatorsLength()) if p.sub.Operators(i).OpcodeIndex())
    p.put_u32(p.field_pos(op, "Operator", "opcode_index"), 300)
    with pytest.raises(ModelLoadError, match="operator code 300"):
        read_model(p.save(tmp_path))


def test_vector_length_past_the_end(tmp_path):
    p = Patcher()
    start = p.vector_start(p.sub, "SubGraph", "tensors")
    p.put_u32(start - 4, 0x7FFFFFFF)  # a length a naive reader would loop over / allocate
    with pytest.raises(ModelLoadError, match="outside"):
        read_model(p.save(tmp_path))


def _weight_buffer(p: Patcher):
    return max((p.model.Buffers(i) for i in range(p.model.BuffersLength())), key=lambda b: b.DataLength())


def test_buffer_data_length_past_the_end(tmp_path):
    p = Patcher()
    p.put_u32(p.vector_start(_weight_buffer(p), "Buffer", "data") - 4, 0xFFFFFF00)
    with pytest.raises(ModelLoadError, match="Buffer.data"):
        read_model(p.save(tmp_path))


def test_data_size_disagrees_with_shape(tmp_path):
    p = Patcher()
    index = next(i for i in range(p.sub.TensorsLength())
                 if p.model.Buffers(p.sub.Tensors(i).Buffer()).DataLength() > 100)
    p.put_u32(p.vector_start(p.sub.Tensors(index), "Tensor", "shape"), 1 << 30)  # no allocation: an error
    with pytest.raises(ModelLoadError, match="data bytes for shape"):
        read_model(p.save(tmp_path))


def test_offset_pointing_outside(tmp_path):
    p = Patcher()
    p.put_u32(p.field_pos(p.sub.Tensors(2), "Tensor", "name"), 0x7FFFFFF0)
    with pytest.raises(ModelLoadError, match="Tensor.name"):
        read_model(p.save(tmp_path))


def _code_positions(p: Patcher, op_name: str):
    codes = p.model.OperatorCodes
    index = next(i for i in range(p.model.OperatorCodesLength())
                 if max(codes(i).BuiltinCode(), codes(i).DeprecatedBuiltinCode()) == _code(op_name))
    c = codes(index)
    return p.field_pos(c, "OperatorCode", "deprecated_builtin_code"), p.field_pos(c, "OperatorCode", "builtin_code")


def _code(op_name: str) -> int:
    return next(v for v, n in layout.ENUMS["BuiltinOperator"].items() if n == op_name)


def test_builtin_operator_litert_does_not_map(tmp_path):
    p = Patcher()
    small, large = _code_positions(p, "SOFTMAX")
    p.buf[small] = _code("LSH_PROJECTION")
    p.put_u32(large, _code("LSH_PROJECTION"))
    with pytest.raises(UnsupportedOperatorError, match="LSH_PROJECTION") as err:
        read_model(p.save(tmp_path))
    assert err.value.op_type == "LSH_PROJECTION" and err.value.node.startswith("op")


def test_custom_operator_is_named(tmp_path):
    p = Patcher()
    small, large = _code_positions(p, "SOFTMAX")
    p.buf[small] = _code("CUSTOM")
    p.put_u32(large, _code("CUSTOM"))
    with pytest.raises(UnsupportedOperatorError, match="custom operator") as err:
        read_model(p.save(tmp_path))
    assert err.value.op_type.startswith("CUSTOM")


def test_unknown_options_tag(tmp_path):
    p = Patcher()
    op = p.sub.Operators(0)
    p.buf[p.field_pos(op, "Operator", "builtin_options_type")] = 250  # past the BuiltinOptions union
    with pytest.raises(ModelLoadError, match="options of unknown type #250"):
        read_model(p.save(tmp_path))


def test_operator_reading_an_unwritten_tensor(tmp_path):
    p = Patcher()
    last = p.sub.Operators(p.sub.OperatorsLength() - 1)
    p.put_u32(p.vector_start(p.sub.Operators(0), "Operator", "outputs"), last.Outputs(0))
    with pytest.raises(ModelLoadError, match="which no earlier operator writes"):
        read_model(p.save(tmp_path))


def test_missing_empty_and_directory(tmp_path):
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "absent.tflite")
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        read_model(tmp_path / "empty.tflite")
    (tmp_path / "dir.tflite").mkdir()
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "dir.tflite")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_random_corruption_never_escapes_as_a_bare_exception(tmp_path, source):
    data = source.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"loaded": 0, "error": 0}
    for trial in range(100):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 6))):
            buf[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"fuzz{trial}.tflite"
        path.write_bytes(bytes(buf))
        try:
            read_model(path)
            outcomes["loaded"] += 1
        except LitertError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == 100


def test_cli_prints_one_line(tmp_path):
    path = tmp_path / "trunc.tflite"
    path.write_bytes(SOURCE.read_bytes()[:100])
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "info", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if "plugin" not in line]
    assert len(lines) == 1 and "not a valid .tflite file" in lines[0] and "Traceback" not in result.stderr


def test_load_api_raises_typed_errors(tmp_path):
    path = tmp_path / "x.tflite"
    path.write_bytes(b"\x10\x00\x00\x00TFL3" + b"\x00" * 8)
    with pytest.raises(ModelLoadError):
        litert.load(path)
