"""Bad MindIR input gets a typed error (and one line from the CLI), never a traceback."""
from __future__ import annotations

import shutil
import subprocess
import sys

import mindir_testlib as lib
import pytest

import litert  # noqa: E402
from litert.errors import InputError, ModelLoadError, UnsupportedOperatorError  # noqa: E402
from litert_formats.mindir.mind_ir_pb2 import ModelProto  # noqa: E402
from litert_formats.mindir.reader import MindirFrontend  # noqa: E402


def _load(path):
    return litert.load(path)


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_truncated_file(fraction, tmp_path):
    data = lib.fixture("resnet_bn").path.read_bytes()
    path = tmp_path / "cut.mindir"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ModelLoadError):
        _load(path)


def test_truncated_by_one_byte(tmp_path):
    data = lib.fixture("lenet5").path.read_bytes()
    path = tmp_path / "cut.mindir"
    path.write_bytes(data[:-1])
    with pytest.raises(ModelLoadError):
        _load(path)


def test_garbage_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.mindir"
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ModelLoadError):
        _load(garbage)
    with pytest.raises(ModelLoadError):
        _load(tmp_path / "absent.mindir")


def _with_primitive_renamed(tmp_path, old: str, new: str):
    proto = ModelProto()
    proto.ParseFromString(lib.fixture("lenet5").path.read_bytes())
    prim = next(p for p in proto.primitives if p.op_type == old)
    prim.op_type = new
    user = next(n for n in proto.graph.node if n.op_type == f"REF::{prim.name}")
    path = tmp_path / "unknown.mindir"
    path.write_bytes(proto.SerializeToString())
    return path, user.output[0].split(":", 1)[1]


def test_unknown_primitive_names_node_and_primitive(tmp_path):
    path, node = _with_primitive_renamed(tmp_path, "MaxPool", "FancyPool")
    with pytest.raises(UnsupportedOperatorError) as err:
        _load(path)
    assert err.value.op_type == "FancyPool" and err.value.node == node
    assert "FancyPool" in str(err.value) and node in str(err.value)


def test_unknown_primitive_in_the_cli_is_one_line(tmp_path):
    path, node = _with_primitive_renamed(tmp_path, "ReLU", "SuperReLU")
    result = subprocess.run([sys.executable, "-m", "litert.cli.main", "run", "--model", str(path)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SuperReLU" in lines[0] and node in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missing_external_weights(tmp_path):
    fx = lib.fixture("lenet5_split")
    lone = tmp_path / fx.path.name
    shutil.copy(fx.path, lone)
    with pytest.raises(ModelLoadError, match="external data file"):
        _load(lone)


def test_truncated_external_weights(tmp_path):
    fx = lib.fixture("lenet5_split")
    shutil.copy(fx.path, tmp_path / fx.path.name)
    variables = tmp_path / "lenet5_split_variables"
    variables.mkdir()
    data = (lib.DATA / "lenet5_split_variables" / "data_0").read_bytes()
    (variables / "data_0").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="truncated"):
        _load(tmp_path / fx.path.name)


def test_external_location_may_not_leave_the_model_folder(tmp_path):
    proto = ModelProto()
    proto.ParseFromString(lib.fixture("lenet5_split").path.read_bytes())
    proto.graph.parameter[0].external_data.location = "../../etc/passwd"
    path = tmp_path / "escape.mindir"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelLoadError, match="leaves the model"):
        _load(path)


def test_wrong_input_shape_names(tmp_path):
    with pytest.raises(InputError):
        litert.load(lib.fixture("dynamic_batch").path, input_shapes={"nope": (1, 3, 8, 8)})


def test_sniff_tells_mindir_from_onnx():
    head = lib.fixture("lenet5").path.read_bytes()[:64]
    assert MindirFrontend().sniff(head)
    assert not MindirFrontend().sniff(b"\x08\x07\x12\x04onnx")
