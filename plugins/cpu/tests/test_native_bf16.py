"""bf16 arithmetic (``precision="bf16"``): the library's bf16 steps against float32 on bf16-rounded operands.

The bf16 steps round the weights (when packed) and the activations (when a task packs them) to bfloat16 and
accumulate in float32.  A product of two bf16 values is exact in float32, so the same convolution or GEMM run by
the numpy kernels on operands rounded to bf16 beforehand (``ml_dtypes``, round to nearest even as VCVTNEPS2BF16)
differs from the bf16 step only by the order of the float32 additions: the comparison is tight (1e-5 of the
output's scale), and a wrong pairing, panel offset or k-slice would be off by far more.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest
from helpers.conv_cases import preact_block, random_conv

import litert
from litert.backend import CompileContext
from litert.errors import OptionError
from litert.ir import DType, Graph, Node, Value
from litert_cpu.executor import CpuPartition
from litert_cpu.native import module, status

lib = module()
pytestmark = pytest.mark.skipif(lib is None, reason=f"native kernels inactive: {status().detail}")
needs_bf16 = pytest.mark.skipif(lib is None or not lib.bf16_available(), reason="this CPU has no AVX512_BF16")
#: the bf16 convolutions and constant-B products run on AMX tiles here (another kernel, layout and lowering
#: policy: 3x3 convs take the direct bf16 conv, not Winograd); test_avx512_bf16_path_where_amx_is_declined runs
#: this file again with AMX declined, so an AMX machine checks both paths
amx = lib is not None and lib.bf16_amx()

RNG_SEED = 20261205


def to_bf16(array: np.ndarray) -> np.ndarray:
    return array.astype(ml_dtypes.bfloat16).astype(np.float32)


def graph_of(node: Node, inputs: dict[str, np.ndarray], consts: dict[str, np.ndarray], out: tuple[int, ...]) -> Graph:
    values = {name: Value(name, DType.FLOAT32, a.shape) for name, a in inputs.items()}
    values.update({name: Value(name, DType.FLOAT32, a.shape, const=a) for name, a in consts.items()})
    values["y"] = Value("y", DType.FLOAT32, out)
    return Graph(nodes=[node], inputs=list(inputs), outputs=["y"], values=values, name="case")


def bf16_against_rounded(node: Node, inputs, consts, out, rounded_inputs, threads):
    """(bf16 step's output, numpy's output on the bf16-rounded operands, the bf16 partition)."""
    ctx = CompileContext(threads=threads, opsets={"": 21, "com.microsoft": 1}, precision="bf16")
    bf16 = CpuPartition(graph_of(node, inputs, consts, out), ctx)
    rounded = {k: to_bf16(v) if k in rounded_inputs else v for k, v in inputs.items()}
    reference = CpuPartition(graph_of(node, rounded, {k: to_bf16(v) if k == "w" else v for k, v in consts.items()},
                                      out), CompileContext(threads=1), native=False)
    return bf16.run(inputs)["y"], reference.run(rounded)["y"], bf16


@needs_bf16
@pytest.mark.parametrize("case", range(16))
def test_bf16_conv_matches_float32_on_rounded_operands(case):
    """Odd channel counts (k odd: the last pair's high half is zero), k > 384 (two k slices, the second odd),
    output channels off the 12-row panels, 3x3/1x1/5x5 dilated/1x7, strides 1-3, pads, groups, batch 2,
    residual and activations, one and two threads."""
    rng = np.random.default_rng(RNG_SEED + case)
    kh, kw = [(3, 3), (1, 1), (5, 5), (1, 7)][case % 4]
    dh, dw = (2, 1) if case % 4 == 2 else (1, 1)
    sh, sw = [(1, 1), (2, 2), (1, 2), (3, 1)][case // 4]
    group = 2 if case % 5 == 3 else 1
    c = [7, 45, 50, 3][case % 4] * group if case % 3 else 43 * group  # 43 * 9 = 387 > 384: two slices
    if case == 0:
        c = 13  # a 3x3 stride-1 conv of 16+ channels each way takes Winograd (float32 F(4x4, 3x3) or bf16 F(2x2))
    # k x k convs go bf16 from 64 output channels (or large images: _bf16_conv_pays); 1x1 at any count
    m = int(rng.integers(1, 40) if kh * kw == 1 else rng.integers(64, 100)) * group
    n = 1 + case % 2
    h, w = int(rng.integers(kh * dh, 24)), int(rng.integers(kw * dw, 24))
    pads = [int(rng.integers(0, kh)), int(rng.integers(0, kw)), int(rng.integers(0, kh)), int(rng.integers(0, kw))]
    node, inputs, consts, out_shape = random_conv(rng, case, (n, c, h, w), m, (kh, kw), (sh, sw), (dh, dw), group, pads)
    got, want, partition = bf16_against_rounded(node, inputs, consts, out_shape, {"x"}, 1 + case % 2)
    assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_CONV2D_PACKED_BF16]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


@needs_bf16
@pytest.mark.parametrize("case", range(4))
def test_bf16_winograd_conv_stays_within_bf16_rounding(case):
    """3x3 stride-1 convs Winograd takes (>= 64 channels, enough tiles) in bf16: the transforms stay float32 and
    the transformed operands are rounded, so the result is not the rounded-operand direct conv bit for bit;
    its error against float32 is compared with that of the direct conv on bf16-rounded operands (measured: 1.6-1.7x
    it, the transformed values spanning a wider range), while an error in the pair layout or the panels would be
    of the output's own size."""
    rng = np.random.default_rng(RNG_SEED + 300 + case)
    # outputs of 8-10: maps where F(2x2, 3x3) beats F(4x4, 3x3) (which runs float32 under bf16 too)
    c, m, size = [(64, 64, 10), (67, 100, 9), (128, 75, 6), (96, 64, 12)][case]
    pad = case % 3
    x = rng.standard_normal((1, c, size, size)).astype(np.float32)
    wt = rng.standard_normal((m, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    attrs = {"pads": [pad] * 4, "kernel_shape": [3, 3]}
    out = size + 2 * pad - 2
    node = Node("Conv", ["x", "w", "b"], ["y"], attrs, name="conv")
    got, direct_bf16, partition = bf16_against_rounded(node, {"x": x}, {"w": wt, "b": b}, (1, m, out, out), {"x"}, 1)
    if amx:  # no Winograd on AMX tiles: the direct bf16 conv, exact up to the order of additions
        assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_CONV2D_PACKED_BF16]]
        np.testing.assert_allclose(got, direct_bf16, rtol=1e-5, atol=1e-5 * float(np.abs(direct_bf16).max()))
        return
    assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_CONV2D_WINOGRAD_BF16]]
    want = CpuPartition(graph_of(node, {"x": x}, {"w": wt, "b": b}, (1, m, out, out)), CompileContext(threads=1),
                        native=False).run({"x": x})["y"]

    def rms(error):
        return float(np.sqrt(np.mean(np.square(error))))

    assert 0 < rms(got - want) < 2.5 * rms(direct_bf16 - want)
    assert np.abs(got - want).max() < 3 * np.abs(direct_bf16 - want).max()


@needs_bf16
@pytest.mark.parametrize("case", range(6))
def test_bf16_constant_weight_gemm_matches_float32_on_rounded_operands(case):
    """MatMul and Gemm with constant B: odd k, rows off the 12-row panels, columns off the 32-column ones,
    transB, every bias form, alpha/beta, a fused activation, one and two threads."""
    rng = np.random.default_rng(RNG_SEED + 100 + case)
    m, k, n = [(1, 37, 70), (197, 193, 77), (13, 301, 32), (50, 64, 200), (3, 769, 33), (25, 5, 1000)][case]
    a = rng.standard_normal((m, k)).astype(np.float32)
    if case % 2:
        trans_b = case % 4 == 1
        wt = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        bias = rng.standard_normal([(n,), (1, n), (m, n), (1,)][case % 4]).astype(np.float32)
        attrs = {"transB": int(trans_b), "alpha": 0.75, "beta": 1.25, "activation": "Relu"}
        node = Node("FusedGemm", ["a", "w", "c"], ["y"], attrs, name="gemm", domain="com.microsoft")
        consts = {"w": wt, "c": bias}
    else:
        node = Node("MatMul", ["a", "w"], ["y"], {}, name="mm")
        consts = {"w": rng.standard_normal((k, n)).astype(np.float32)}
    got, want, partition = bf16_against_rounded(node, {"a": a}, consts, (m, n), {"a"}, 1 + case % 2)
    assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_MATMUL_PACKED_BF16]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


@needs_bf16
@pytest.mark.parametrize("case", range(4))
def test_bf16_matmul_of_two_activations_matches_float32_on_rounded_operands(case):
    """MatMul of two inputs (attention's Q x K^T and P x V): batched, odd k, columns off the 32-wide panels,
    one and two threads (the threads split rows or columns, each task packing its own block of B); and a Gemm
    with transB and a bias whose B is an input."""
    rng = np.random.default_rng(RNG_SEED + 400 + case)
    batch, m, k, n = [(3, 37, 64, 37), (2, 197, 33, 64), (1, 9, 301, 200), (4, 5, 7, 3)][case]
    if case == 3:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((n, k)).astype(np.float32)
        c = rng.standard_normal(n).astype(np.float32)
        node = Node("Gemm", ["a", "b", "c"], ["y"], {"transB": 1, "alpha": 0.5}, name="gemm")
        got, want, partition = bf16_against_rounded(node, {"a": a, "b": b, "c": c}, {}, (m, n), {"a", "b"}, 2)
    else:
        a = rng.standard_normal((batch, m, k)).astype(np.float32)
        b = rng.standard_normal((batch, k, n)).astype(np.float32)
        node = Node("MatMul", ["a", "b"], ["y"], {}, name="mm")
        got, want, partition = bf16_against_rounded(node, {"a": a, "b": b}, {}, (batch, m, n), {"a", "b"},
                                                    1 + case % 2)
    assert [seg.step_kinds for seg in partition.native_segments] == [[lib.STEP_MATMUL_BF16]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))


def conv_model(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(RNG_SEED + 200)
    w = numpy_helper.from_array(rng.standard_normal((64, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 16, 16])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.skipif(lib is None or not lib.conv_packed_available(), reason="this CPU has no AVX-512 packed conv")
def test_small_kxk_convs_stay_float32_where_bf16_does_not_pay():
    """A 3x3 conv with 12 output channels (too few for Winograd) on a 14x14 image runs the float32 step under
    precision="bf16" (its input panels would be rounded for too few weight rows); a 1x1 conv of the same size
    runs bf16.  On AMX tiles both run bf16."""
    rng = np.random.default_rng(RNG_SEED + 500)
    x = rng.standard_normal((1, 48, 14, 14)).astype(np.float32)
    ctx = CompileContext(threads=1, opsets={"": 21}, precision="bf16")
    kinds = []
    for k in (3, 1):
        wt = rng.standard_normal((12, 48, k, k)).astype(np.float32)
        node = Node("Conv", ["x", "w"], ["y"], {"pads": [k // 2] * 4, "kernel_shape": [k, k]}, name="conv")
        partition = CpuPartition(graph_of(node, {"x": x}, {"w": wt}, (1, 12, 14, 14)), ctx)
        kinds += [kind for seg in partition.native_segments for kind in seg.step_kinds]
    bf16 = lib.bf16_available()
    first = lib.STEP_CONV2D_PACKED_BF16 if amx else lib.STEP_CONV2D_PACKED
    assert kinds == [first, lib.STEP_CONV2D_PACKED_BF16 if bf16 else lib.STEP_CONV2D_PACKED]


def test_bf16_precision_keeps_4x4_winograd_in_float32():
    """Under precision="bf16" a conv F(4x4, 3x3) takes runs it in float32, the same step and the same bytes as
    a float32 partition: bf16 operands would add their rounding to transforms that amplify it, and float32
    F(4x4) is faster than bf16's direct conv (a bf16 DenseNet-121 ran 0.93x its float32 time with it).  On AMX
    tiles the direct bf16 conv outruns it and takes the conv."""
    rng = np.random.default_rng(RNG_SEED + 520)
    x = rng.standard_normal((1, 48, 28, 28)).astype(np.float32)
    wt = rng.standard_normal((64, 48, 3, 3)).astype(np.float32)
    node = Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}, name="conv")
    graph = graph_of(node, {"x": x}, {"w": wt}, (1, 64, 28, 28))
    runs = {}
    for precision in ("fp32", "bf16"):
        partition = CpuPartition(graph, CompileContext(threads=1, opsets={"": 21}, precision=precision))
        kind = lib.STEP_CONV2D_PACKED_BF16 if amx and precision == "bf16" else lib.STEP_CONV2D_WINOGRAD4
        assert [seg.step_kinds for seg in partition.native_segments] == [[kind]]
        runs[precision] = partition.run({"x": x})["y"]
    if amx:
        assert np.linalg.norm(runs["bf16"] - runs["fp32"]) < 0.01 * np.linalg.norm(runs["fp32"])
    else:
        np.testing.assert_array_equal(runs["bf16"], runs["fp32"])


@needs_bf16
def test_session_reports_bf16_and_stays_close_to_float32(tmp_path):
    path = conv_model(tmp_path / "conv.onnx")
    x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
    fp32, bf16 = litert.load(path), litert.load(path, precision="bf16")
    assert fp32.precision == "fp32"
    assert bf16.precision.startswith("bf16 (1 of 1 nodes")
    want, got = fp32.predict([x])[0], bf16.predict([x])[0]
    error = float(np.abs(got - want).max() / np.abs(want).max())
    assert 0 < error < 1e-2  # bf16 rounding shows, and stays small


def test_precision_falls_back_to_float32_with_the_reason(tmp_path, monkeypatch, caplog):
    """Never silent: a CPU without AVX512_BF16, or fp16 (no fp16 kernels), computes in float32, says why in
    ``Session.precision`` and logs a warning; an unknown precision is an OptionError."""
    path = conv_model(tmp_path / "conv.onnx")
    monkeypatch.setattr(lib, "bf16_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="litert"):
        session = litert.load(path, precision="bf16")
    assert session.precision == "fp32 (bf16 requested: this CPU has no AVX512_BF16)"
    assert "precision bf16 requested, computing in fp32" in caplog.text
    assert litert.load(path, precision="fp16").precision == "fp32 (fp16 requested: the CPU backend has no fp16 kernels)"
    with pytest.raises(OptionError, match="unknown precision 'int4'"):
        litert.load(path, precision="int4")


@needs_bf16
def test_cli_prints_the_precision_used(tmp_path, capsys):
    from litert.cli.main import main

    path = str(conv_model(tmp_path / "conv.onnx"))
    assert main(["benchmark", "--model", path, "--precision", "bf16", "--loop-count", "2"]) == 0
    assert "precision   bf16 (1 of 1 nodes" in capsys.readouterr().out
    assert main(["info", path, "--precision", "bf16"]) == 0
    assert "compute:  bf16 (1 of 1 nodes" in capsys.readouterr().out
    assert main(["run", "--model", path, "--random", "--precision", "bf16"]) == 0
    assert "precision bf16 (1 of 1 nodes" in capsys.readouterr().out


@needs_bf16
def test_resnet18_in_bf16_stays_within_one_percent_of_float32(tmp_path):
    """A whole CNN (ResNet-18 at 112x112, random weights): bf16 on every convolution (direct, Winograd and the
    classifier's Gemm) moves the logits by well under 1% (measured 0.35% at 224x224) and keeps the top class."""
    import sys
    from pathlib import Path

    import onnx

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
    from helpers.modelgen import resnet18

    path = tmp_path / "resnet18.onnx"
    onnx.save(resnet18(seed=0, resolution=112), path)
    x = np.random.default_rng(1).standard_normal((1, 3, 112, 112)).astype(np.float32)
    fp32 = litert.load(path, threads=2).predict([x])[0]
    session = litert.load(path, threads=2, precision="bf16")
    bf16 = session.predict([x])[0]
    assert session.precision.startswith("bf16")
    error = float(np.linalg.norm(bf16 - fp32) / np.linalg.norm(fp32))
    assert 0 < error < 1e-2, error
    assert bf16.argmax() == fp32.argmax()


@pytest.mark.skipif(not amx, reason="no AMX tiles here: the tests above ran the AVX512_BF16 kernels already")
def test_avx512_bf16_path_where_amx_is_declined():
    """LITERT_CPU_AMX=0 declines AMX for the process: this file's tests then run the AVX512_BF16 kernels, their
    layout and their lowering policy, so a machine with AMX checks both bf16 paths (the AMX-only tests, named so,
    are left out)."""
    env = {**os.environ, "LITERT_CPU_AMX": "0"}
    probe = subprocess.run([sys.executable, "-c", "from litert_cpu.native import module; print(module().bf16_amx())"],
                           env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "not declined and not amx"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1]


@pytest.mark.skipif(not amx, reason="the bf16 pre-activation runs on AMX tiles only")
@pytest.mark.parametrize("n,c,m,size,threads", [(1, 37, 20, (7, 7), 1), (2, 64, 130, (9, 11), 2),
                                                (1, 200, 96, (14, 14), 2)])
def test_bf16_preactivation_folds_into_the_amx_1x1_conv(n, c, m, size, threads):
    """BatchNorm + ReLU before a 1x1 conv of 16+ channels: on AMX tiles the bf16 conv applies them as it rounds
    its input (no affine step), and gives what the same block gives with the affine as a step of its own (the
    ReLU's output also a graph output, so it cannot fold) up to a rare different rounding of one bf16 operand."""
    rng = np.random.default_rng(RNG_SEED + 700 + c)
    ctx = CompileContext(threads=threads, opsets={"": 21}, precision="bf16")
    graph, inputs = preact_block(rng, n, c, m, *size)
    fused = CpuPartition(graph, ctx)
    assert fused.native_segments[0].step_kinds == [lib.STEP_CONV2D_PACKED_PREACT_BF16]
    rng = np.random.default_rng(RNG_SEED + 700 + c)
    apart_graph, _ = preact_block(rng, n, c, m, *size, extra_reader=True)
    apart = CpuPartition(apart_graph, ctx)
    kinds = apart.native_segments[0].step_kinds
    assert lib.STEP_AFFINE in kinds and lib.STEP_CONV2D_PACKED_BF16 in kinds, kinds
    got, want = fused.run(inputs)["y"], apart.run(inputs)["y"]
    scale = float(np.abs(want).max())
    assert np.abs(got - want).max() < 1e-2 * scale and np.abs(got - want).mean() < 1e-4 * scale
    exact = CpuPartition(graph, CompileContext(threads=1, opsets={"": 21}), native=False).run(inputs)["y"]
    assert np.linalg.norm(got - exact) < 1e-2 * np.linalg.norm(exact)
