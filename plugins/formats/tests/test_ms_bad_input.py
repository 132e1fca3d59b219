"""Bad .ms files give a typed litert error, never a crash, a traceback or a huge allocation.

The files are a committed fixture with single fields patched at the byte
positions the generated accessors report (so each test breaks exactly one
thing), plus truncations and random byte flips.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools" / "mslite"))
import ms_testlib as lib  # noqa: E402

import litert  # noqa: E402
from litert.errors import LitertError, ModelLoadError, UnsupportedOperatorError  # noqa: E402
from litert.runtime.loading import read_model  # noqa: E402
from litert_formats.ms import tables  # noqa: E402
from litert_formats.ms.schema.layout import TABLES, UNIONS  # noqa: E402
from litert_formats.ms.verify import verify  # noqa: E402

SOURCE = lib.DATA / "small_cnn.ms"


def _slot(table: str, field: str) -> int:
    """The vtable offset (4 + 2 * id) of ``table.field``."""
    return 4 + 2 * [f for f, _, _ in TABLES[table]].index(field)


class Patcher:
    """A writable copy of a fixture and the positions of its fields."""

    def __init__(self, source: Path = SOURCE) -> None:
        self.buf = bytearray(source.read_bytes())
        self.meta = tables.wrap("MetaGraph", bytes(self.buf), verify(bytes(self.buf)).root())

    def vector_start(self, obj, table: str, field: str) -> int:
        return obj._tab.Vector(obj._tab.Offset(_slot(table, field)))

    def put_u32(self, pos: int, value: int) -> None:
        struct.pack_into("<I", self.buf, pos, value)

    def save(self, tmp_path: Path, name: str = "bad.ms") -> Path:
        path = tmp_path / name
        path.write_bytes(bytes(self.buf))
        return path


def test_truncated_files(tmp_path):
    data = SOURCE.read_bytes()
    for cut in (0, 3, 8, 64, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1):
        path = tmp_path / f"cut{cut}.ms"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError):
            read_model(path)


def test_wrong_file_identifier(tmp_path):
    p = Patcher()
    p.buf[4:8] = b"TFL3"
    path = p.save(tmp_path)
    with pytest.raises(ModelLoadError, match="identifier"):
        read_model(path, "ms")
    with pytest.raises(ModelLoadError, match="identifier"):
        read_model(path)  # chosen by the .ms suffix: still a clear error


def test_out_of_range_tensor_index(tmp_path):
    p = Patcher()
    node = p.meta.Nodes(0)
    p.put_u32(p.vector_start(node, "CNode", "inputIndex"), 12345)
    with pytest.raises(ModelLoadError, match="tensor 12345"):
        read_model(p.save(tmp_path))


def test_out_of_range_graph_output(tmp_path):
    p = Patcher()
    p.put_u32(p.vector_start(p.meta, "MetaGraph", "outputIndex"), 999)
    with pytest.raises(ModelLoadError, match="outputIndex names tensor 999"):
        read_model(p.save(tmp_path))


def test_vector_length_past_the_end(tmp_path):
    p = Patcher()
    start = p.vector_start(p.meta, "MetaGraph", "allTensors")
    p.put_u32(start - 4, 0x7FFFFFFF)  # a length a naive reader would loop over / allocate
    with pytest.raises(ModelLoadError, match="outside"):
        read_model(p.save(tmp_path))


def test_tensor_data_length_past_the_end(tmp_path):
    p = Patcher()
    index = next(i for i in range(p.meta.AllTensorsLength()) if p.meta.AllTensors(i).DataLength() > 100)
    tensor = p.meta.AllTensors(index)
    p.put_u32(p.vector_start(tensor, "Tensor", "data") - 4, 0xFFFFFF00)
    with pytest.raises(ModelLoadError, match="Tensor.data"):
        read_model(p.save(tmp_path))


def test_data_size_disagrees_with_dims(tmp_path):
    p = Patcher()
    index = next(i for i in range(p.meta.AllTensorsLength()) if p.meta.AllTensors(i).DataLength() > 100)
    tensor = p.meta.AllTensors(index)
    p.put_u32(p.vector_start(tensor, "Tensor", "dims"), 1 << 30)  # a 2**30-row weight: no allocation, an error
    with pytest.raises(ModelLoadError, match="data bytes for dims"):
        read_model(p.save(tmp_path))


def test_offset_pointing_outside(tmp_path):
    p = Patcher()
    node = p.meta.Nodes(1)
    slot_pos = node._tab.Pos + node._tab.Offset(_slot("CNode", "name"))
    p.put_u32(slot_pos, 0x7FFFFFF0)
    with pytest.raises(ModelLoadError, match="CNode.name"):
        read_model(p.save(tmp_path))


def _tag_position(p: Patcher, node_index: int) -> int:
    prim = p.meta.Nodes(node_index).Primitive()
    return prim._tab.Pos + prim._tab.Offset(_slot("Primitive", "value_type"))


def test_unknown_primitive_tag(tmp_path):
    p = Patcher()
    name = p.meta.Nodes(2).Name().decode()
    p.buf[_tag_position(p, 2)] = 250  # past the PrimitiveType union
    with pytest.raises(UnsupportedOperatorError, match="PrimitiveType #250|primitive type #250") as err:
        read_model(p.save(tmp_path))
    assert err.value.node == name
    assert name in str(err.value)


def test_primitive_litert_does_not_map(tmp_path):
    """A schema primitive without a reader (an empty table, so the bytes stay valid): named with its node."""
    p = Patcher()
    name = p.meta.Nodes(2).Name().decode()
    p.buf[_tag_position(p, 2)] = UNIONS["PrimitiveType"].index("AddGrad")
    with pytest.raises(UnsupportedOperatorError, match="AddGrad") as err:
        read_model(p.save(tmp_path))
    assert err.value.node == name and err.value.op_type == "AddGrad"


def test_node_reading_an_unwritten_tensor(tmp_path):
    p = Patcher()
    first_out = p.meta.Nodes(0).OutputIndex(0)
    p.put_u32(p.vector_start(p.meta.Nodes(0), "CNode", "outputIndex"), p.meta.AllTensorsLength() - 1)
    with pytest.raises(ModelLoadError, match=f"reads tensor {first_out}|is written by no node|is a constant"):
        read_model(p.save(tmp_path))


def test_missing_empty_and_directory(tmp_path):
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "absent.ms")
    (tmp_path / "empty.ms").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        read_model(tmp_path / "empty.ms")
    (tmp_path / "dir.ms").mkdir()
    with pytest.raises(ModelLoadError):
        read_model(tmp_path / "dir.ms")


def test_random_corruption_never_escapes_as_a_bare_exception(tmp_path):
    data = SOURCE.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"loaded": 0, "error": 0}
    for trial in range(120):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), size=int(rng.integers(1, 6))):
            buf[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"fuzz{trial}.ms"
        path.write_bytes(bytes(buf))
        try:
            read_model(path)
            outcomes["loaded"] += 1
        except LitertError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and sum(outcomes.values()) == 120


def test_cli_prints_one_line(tmp_path):
    path = tmp_path / "trunc.ms"
    path.write_bytes(SOURCE.read_bytes()[:100])
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "info", str(path)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = [line for line in result.stderr.strip().splitlines() if "plugin" not in line]
    assert len(lines) == 1 and "not a valid .ms file" in lines[0] and "Traceback" not in result.stderr


def test_load_api_raises_typed_errors(tmp_path):
    path = tmp_path / "x.ms"
    path.write_bytes(b"\x10\x00\x00\x00MSL2" + b"\x00" * 8)
    with pytest.raises(ModelLoadError):
        litert.load(path)
