"""MaxRoiPool against onnxruntime (the ONNX suite has no case for it)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import litert


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_max_roi_pool_matches_onnxruntime(tmp_path, scale):
    ort = pytest.importorskip("onnxruntime")
    node = helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=[3, 2], spatial_scale=scale)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 10, 12]),
                                            helper.make_tensor_value_info("rois", TensorProto.FLOAT, [4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "roi.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    rois = np.array([[0, 0, 0, 11, 9], [1, 2, 3, 7, 8], [0, 5, 5, 5, 5], [1, 1.4, 2.6, 20, 15]], np.float32)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    [want] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run(None, {"x": x, "rois": rois})
    [got] = litert.load(path).predict([x, rois])
    np.testing.assert_array_equal(got, want)
