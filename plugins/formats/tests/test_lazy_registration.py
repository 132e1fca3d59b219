"""Formats register cheaply: readers and writers are imported on first use.

The lazy entries repeat each class's name and suffixes (what the host needs
to pick a reader without importing it); these tests hold them equal to the
class's own, so the class stays their owner.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from litert_formats.lazy import LazyFrontend, LazySerializer
from litert_formats.plugin import FORMATS


def _entries(fmt) -> list:
    return [entry for entry in (fmt.frontend(), fmt.serializer()) if entry is not None]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_lazy_entries_name_and_suffixes_of_their_class(fmt):
    entries = _entries(fmt)
    assert entries
    for entry in entries:
        assert isinstance(entry, (LazyFrontend, LazySerializer))
        real = entry.real()
        assert type(real).__name__ == entry.target.rsplit(":", 1)[1]
        assert (entry.name, tuple(entry.extensions)) == (real.name, tuple(real.extensions))


def test_the_plugin_registers_every_format_in_the_table_order():
    """One entry point registers the table's readers and writers, in its order (the order frontends sniff a file
    whose suffix names none): what the six entry points registered, sorted by name, before."""
    from litert_formats import plugin

    frontends, serializers = [], []
    plugin.litert_register_frontends(register=frontends.append)
    plugin.litert_register_serializers(register=serializers.append)
    assert [f.name for f in frontends] == ["caffe", "mindir", "ms", "onnx", "tf", "tflite"]
    assert [s.name for s in serializers] == ["mindir", "ms", "onnx"]


def test_loading_an_onnx_file_imports_no_other_reader(tmp_path):
    """litert.load of an .onnx file leaves the MindIR, .ms, TFLite, TensorFlow and Caffe packages unimported."""
    import onnx
    from onnx import helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", 1, [2])], [helper.make_tensor_value_info("y", 1, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    code = (
        "import sys, numpy as np, litert\n"
        f"s = litert.load({str(path)!r}, devices=['cpu'])\n"
        "assert s.predict([np.array([-1.0, 2.0], np.float32)])[0].tolist() == [0.0, 2.0]\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in ("
        "['litert_formats', 'mindir'], ['litert_formats', 'ms'], ['litert_formats', 'tflite'],"
        " ['litert_formats', 'tf'], ['litert_formats', 'caffe']) and m.count('.') >= 1"
        "))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
