"""Formats register cheaply: readers and writers are imported on first use.

The lazy entries repeat each class's name and suffixes (what the host needs
to pick a reader without importing it); these tests hold them equal to the
class's own, so the class stays their owner.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from litert_formats.caffe import plugin as caffe_plugin
from litert_formats.lazy import LazyFrontend, LazySerializer
from litert_formats.mindir import plugin as mindir_plugin
from litert_formats.ms import plugin as ms_plugin
from litert_formats.onnx import plugin as onnx_plugin
from litert_formats.tf import plugin as tf_plugin
from litert_formats.tflite import plugin as tflite_plugin

PLUGINS = [caffe_plugin, mindir_plugin, ms_plugin, onnx_plugin, tf_plugin, tflite_plugin]


def _entries(plugin) -> list:
    entries: list = []
    for hook in ("litert_register_frontends", "litert_register_serializers"):
        if hasattr(plugin, hook):
            getattr(plugin, hook)(register=entries.append)
    return entries


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.__name__.split(".")[1])
def test_lazy_entries_name_and_suffixes_of_their_class(plugin):
    entries = _entries(plugin)
    assert entries
    for entry in entries:
        assert isinstance(entry, (LazyFrontend, LazySerializer))
        real = entry.real()
        assert type(real).__name__ == entry.target.rsplit(":", 1)[1]
        assert (entry.name, tuple(entry.extensions)) == (real.name, tuple(real.extensions))


def test_loading_an_onnx_file_imports_no_other_reader(tmp_path):
    """litert.load of an .onnx file leaves the MindIR, .ms, TFLite, TensorFlow and Caffe readers unimported."""
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
        " ['litert_formats', 'tf'], ['litert_formats', 'caffe']) and m.count('.') >= 2"
        " and not m.endswith('.plugin')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
