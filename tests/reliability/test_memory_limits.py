"""Memory a model file asks for is checked before it is allocated."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers.hostile import F, onnx_model, save
from onnx import TensorProto, helper

import litert
from litert.errors import LitertError, ResourceLimitError
from litert.limits import check_bytes, numel, set_memory_limit


def _peak_rss_mib(code: str) -> float:
    script = code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return float(result.stdout.strip().splitlines()[-1])


def test_constant_folding_checks_size_before_computing(tmp_path):
    """A 300-byte Tile of a constant to 24000 x 24000 floats (2.1 GiB) must not be computed at load."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [1, 1], [1.0])
    shape = helper.make_tensor("reps", TensorProto.INT64, [2], [24000, 24000])
    nodes = [helper.make_node("Tile", ["one", "reps"], ["big"], name="tile"),
             helper.make_node("ReduceSum", ["big"], ["s"], name="sum", keepdims=0),
             helper.make_node("Add", ["x", "s"], ["y"], name="add")]
    path = save(onnx_model(nodes, {"x": (F, [1])}, {"y": (F, [1])}, [one, shape], opset=17), tmp_path / "bomb.onnx")
    assert path.stat().st_size < 400
    baseline = _peak_rss_mib("import litert")
    peak = _peak_rss_mib(f"import litert; litert.load({str(path)!r})")
    assert peak - baseline < 500, f"loading a {path.stat().st_size}-byte model took {peak - baseline:.0f} MiB"


def test_arena_over_the_limit_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    path = save(onnx_model(nodes, {"x": (F, ["N", "M"])}, {"y": (F, ["N", "M"])}), tmp_path / "sym.onnx")
    with pytest.raises(ResourceLimitError, match="memory limit"):
        litert.load(path, input_shapes={"x": (10**6, 10**6)})
    litert.load(path, input_shapes={"x": (4, 4)})  # a sane size still loads


def test_limit_is_configurable():
    set_memory_limit(1000)
    try:
        with pytest.raises(ResourceLimitError, match="tensor t"):
            check_bytes(1001, "tensor t")
        assert check_bytes(1000, "tensor t") == 1000
    finally:
        set_memory_limit(None)


def test_dim_products_do_not_wrap():
    assert numel([2**32, 2**32]) == 2**64
    from litert.ir import DType, Value

    assert Value("v", DType.FLOAT32, (2**32, 2**32)).nbytes == 2**66


@pytest.mark.parametrize("op", ["Tile", "ConstantOfShape", "Expand"])
def test_run_time_allocations_are_checked(tmp_path, op):
    """Sizes that come from input data (not foldable at load) are checked when the kernel runs."""
    inputs = {"x": (F, [1, 1]), "n": (TensorProto.INT64, [2])}
    node = {"Tile": helper.make_node("Tile", ["x", "n"], ["y"], name="grow"),
            "ConstantOfShape": helper.make_node("ConstantOfShape", ["n"], ["y"], name="grow"),
            "Expand": helper.make_node("Expand", ["x", "n"], ["y"], name="grow")}[op]
    path = save(onnx_model([node], inputs, {"y": (F, None)}), tmp_path / f"{op}.onnx")
    session = litert.load(path)
    with pytest.raises(LitertError, match="memory limit"):
        session.predict([np.ones((1, 1), np.float32), np.array([10**6, 10**6], np.int64)])
    [y] = session.predict([np.ones((1, 1), np.float32), np.array([2, 3], np.int64)])
    assert y.shape == (2, 3)


@pytest.mark.parametrize("dims", [[8, 8], [100_000, 100_000]], ids=["small", "large"])
@pytest.mark.parametrize("where", ["initializer", "constant"])
def test_data_shorter_than_its_dims_is_refused(tmp_path, dims, where):
    """A tensor whose dims promise far more than its raw bytes hold is refused before an array is made: a small
    one by the guard (before onnx's shape inference sees it), a large one (kept from shape inference) where its
    raw bytes are read, without a second copy."""
    from litert.errors import ModelLoadError

    short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=dims, raw_data=b"\0" * 8)
    nodes = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
    if where == "constant":
        nodes.insert(0, helper.make_node("Constant", [], ["w"], name="c", value=short))
    model = onnx_model(nodes, {"x": (F, [1])}, {"y": (F, dims)}, [short] if where == "initializer" else [])
    path = save(model, tmp_path / "short.onnx")
    with pytest.raises(ModelLoadError, match="holds data for at most 16"):
        litert.load(path)


def test_raw_weights_are_read_once_as_a_view():
    """tensor_to_array over raw bytes gives numpy_helper.to_array's values, a read-only view of one copy."""
    from onnx import numpy_helper

    from litert_formats.onnx.attributes import tensor_to_array

    for array in (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([True, False]), np.arange(5, dtype=np.int64),
                  np.arange(6, dtype=np.float16).reshape(2, 3)):
        tensor = numpy_helper.from_array(array, "t")
        got = tensor_to_array(tensor)
        np.testing.assert_array_equal(got, numpy_helper.to_array(tensor))
        assert got.dtype == array.dtype and got.shape == array.shape and not got.flags.writeable
