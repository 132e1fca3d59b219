"""Hostile MindIR files: typed errors before anything is read or allocated."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import litert
from litert.errors import ModelLoadError, ResourceLimitError
from litert_formats.mindir.mind_ir_pb2 import ModelProto

DATA = Path(__file__).resolve().parents[1] / "data" / "mindir"


def _split_copy(tmp_path) -> tuple[Path, ModelProto]:
    shutil.copytree(DATA / "lenet5_split_variables", tmp_path / "lenet5_split_variables")
    proto = ModelProto()
    proto.ParseFromString((DATA / "lenet5_split_graph.mindir").read_bytes())
    return tmp_path / "lenet5_split_graph.mindir", proto


@pytest.mark.parametrize("field, value", [("offset", -64), ("length", 10**12)])
def test_external_data_bounds_are_checked_before_reading(tmp_path, field, value):
    path, proto = _split_copy(tmp_path)
    param = next(p for p in proto.graph.parameter if p.HasField("external_data"))
    setattr(param.external_data, field, value)
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelLoadError, match="external data"):
        litert.load(path)


def test_huge_dims_do_not_wrap_to_zero(tmp_path):
    proto = ModelProto()
    proto.ParseFromString((DATA / "lenet5.mindir").read_bytes())
    param = proto.graph.parameter[0]
    del param.dims[:]
    param.dims.extend([2**32, 2**32])  # int64 product: 0, so "no data" looked right
    param.ClearField("raw_data")
    path = tmp_path / "huge.mindir"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ResourceLimitError, match="memory limit"):
        litert.load(path)


def test_names_that_are_not_utf8_are_typed(tmp_path):
    data = (DATA / "lenet5.mindir").read_bytes()
    proto = ModelProto()
    proto.ParseFromString(data)
    name = proto.graph.node[2].name.encode()
    path = tmp_path / "names.mindir"
    path.write_bytes(data.replace(name, b"\xff" * len(name)))
    with pytest.raises(ModelLoadError, match="UTF-8"):
        litert.load(path)
