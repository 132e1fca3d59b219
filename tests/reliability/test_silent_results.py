"""No silent garbage: Cast from strings as onnxruntime does; predict racing resize never returns wrong results."""
from __future__ import annotations

import threading

import numpy as np
import onnxruntime as ort
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import TensorProto, helper

import litert
from litert.errors import LitertError

STRINGS = ["a", "0x10", "1e3", "inf", " 3", "1a", "", "2.7", "nan", "-INF", "1e999", "abc", "010", "-7"]


@pytest.mark.parametrize("to", [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32])
@pytest.mark.parametrize("text", STRINGS)
def test_cast_from_string_matches_onnxruntime(tmp_path, to, text):
    model = onnx_model([helper.make_node("Cast", ["x"], ["y"], name="cast", to=to)],
                       {"x": (TensorProto.STRING, [1])}, {"y": (to, [1])}, opset=19)
    x = np.array([text], dtype=object)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        [want] = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    except Exception:
        want = None
    session = litert.load(save(model, tmp_path / "cast.onnx"))
    if want is None:
        with pytest.raises(LitertError):
            session.predict([x])
    else:
        [got] = session.predict([x])
        np.testing.assert_array_equal(got, want)


def test_predict_racing_resize_gives_serial_results(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="relu"), helper.make_node("Neg", ["h"], ["y"], name="neg")]
    path = save(onnx_model(nodes, {"x": (F, ["N", 8])}, {"y": (F, ["N", 8])}), tmp_path / "dyn.onnx")
    session = litert.load(path)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((3, 8)).astype(np.float32) for _ in range(3)]
    problems: list[str] = []
    stop = threading.Event()

    def resizer():
        n = 0
        while not stop.is_set():
            session.resize({"x": (3, 8)})  # the shape predict uses: every call is valid
            n += 1

    def predictor():
        for i in range(300):
            x = inputs[i % 3]
            [y] = session.predict([x])
            if not isinstance(y, np.ndarray) or not np.array_equal(y, -np.maximum(x, 0)):
                problems.append(f"iteration {i}: {type(y).__name__}")

    thread = threading.Thread(target=resizer)
    thread.start()
    try:
        predictor()
    finally:
        stop.set()
        thread.join()
    assert not problems, problems[:5]


def test_predicts_on_one_session_run_at_the_same_time(tmp_path):
    """Runs share the session (a resize alone takes it exclusively): two predicts overlap, which is what
    lets ModelParallelRunner's threads use several cores on one loaded model. Each run waits inside a
    node for the other to arrive; run one at a time, the barrier would break."""
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="relu"), helper.make_node("Neg", ["h"], ["y"], name="neg")]
    session = litert.load(save(onnx_model(nodes, {"x": (F, [2, 8])}, {"y": (F, [2, 8])}), tmp_path / "m.onnx"))
    barrier = threading.Barrier(2, timeout=10)

    class MeetInside:
        def before_node(self, node, backend):
            if node.name == "neg":
                barrier.wait()

        def after_node(self, node, backend, outputs):
            pass

    x = np.arange(16, dtype=np.float32).reshape(2, 8) - 8
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(session.predict([x], hooks=MeetInside())[0]))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not barrier.broken and len(results) == 2
    for y in results:
        np.testing.assert_array_equal(y, -np.maximum(x, 0))
