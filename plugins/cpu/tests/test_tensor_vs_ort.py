"""Tensor-family kernels vs onnxruntime on cases the ONNX node tests miss.

Each case builds a one-node model, runs it through onnxruntime, and through
the kernel table directly (attribute defaults filled like the harness does).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import litert_cpu.kernels  # noqa: F401
from litert_cpu.kernels._base import KernelContext
from litert_cpu.kernels._registry import KERNELS

OPSET = 21
RNG = np.random.default_rng(0)


def node_attrs(node, opset):
    """The node's attributes with schema defaults filled in (as the frontend does)."""
    schema = onnx.defs.get_schema(node.op_type, opset, node.domain)
    attrs = {}
    specs = [(n, a.default_value) for n, a in schema.attributes.items() if a.default_value.type]
    for name, proto in specs + [(a.name, a) for a in node.attribute]:
        value = helper.get_attribute_value(proto)
        if proto.type == onnx.AttributeProto.STRING:
            value = value.decode()
        elif proto.type == onnx.AttributeProto.STRINGS:
            value = [v.decode() for v in value]
        elif proto.type == onnx.AttributeProto.TENSOR:
            value = numpy_helper.to_array(value)
        elif proto.type in (onnx.AttributeProto.INTS, onnx.AttributeProto.FLOATS):
            value = list(value)
        attrs[name] = value
    return attrs


def _vinfo(name, value):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape)


def run_both(op, inputs, attrs=None, n_out=1, const=(), domain="", opset=OPSET):
    """Run ``op`` with onnxruntime and with the litert kernel; return both output lists.

    ``inputs`` may contain ``None`` for an omitted optional input; indices in
    ``const`` are passed as initializers / kernel constants.
    """
    attrs = attrs or {}
    names = ["" if v is None else f"i{k}" for k, v in enumerate(inputs)]
    outs = [f"o{k}" for k in range(n_out)]
    node = helper.make_node(op, names, outs, domain=domain, **attrs)
    graph_in = [_vinfo(n, v) for k, (n, v) in enumerate(zip(names, inputs)) if v is not None and k not in const]
    inits = [
        numpy_helper.from_array(v, n) for k, (n, v) in enumerate(zip(names, inputs)) if v is not None and k in const
    ]
    graph = helper.make_graph([node], "g", graph_in, [helper.make_empty_tensor_value_info(o) for o in outs], inits)
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 5 if domain == "ai.onnx.ml" else 1))
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 10
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {n: v for k, (n, v) in enumerate(zip(names, inputs)) if v is not None and k not in const}
    expected = sess.run(None, feed)

    kopset = opset if not domain else (5 if domain == "ai.onnx.ml" else 1)
    ctx = KernelContext(
        op_type=op,
        domain=domain,
        opset=kopset,
        consts=[v if k in const else None for k, v in enumerate(inputs)],
        input_shapes=[None if v is None else v.shape for v in inputs],
        input_dtypes=[None if v is None else v.dtype for v in inputs],
        num_outputs=n_out,
    )
    kern = KERNELS[(domain, op)](node_attrs(node, kopset), ctx)
    got = kern.run(*inputs)
    return got, expected


def check(op, inputs, attrs=None, n_out=1, const=(), rtol=1e-5, atol=1e-6, **kw):
    got, expected = run_both(op, inputs, attrs, n_out, const, **kw)
    assert len(got) >= n_out
    for g, e in zip(got, expected):
        g = np.asarray(g)
        assert g.shape == e.shape, (g.shape, e.shape)
        assert g.dtype == e.dtype, (g.dtype, e.dtype)
        if e.dtype == object:
            assert g.tolist() == e.tolist()
        else:
            np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol)


def i64(*v):
    return np.array(v, dtype=np.int64)


X = RNG.standard_normal((3, 4, 5)).astype(np.float32)


@pytest.mark.parametrize("const", [(), (1, 2, 3, 4)])
@pytest.mark.parametrize(
    "starts,ends,axes,steps",
    [
        (i64(0, 1), i64(2, 3), i64(0, 2), None),
        (i64(-1), i64(-1000), i64(1), i64(-1)),
        (i64(10), i64(-10), i64(-1), i64(-2)),
        (i64(-100, 1), i64(100, -1), None, i64(1, 2)),
        (i64(2), i64(0), i64(0), i64(1)),  # empty
    ],
)
def test_slice(starts, ends, axes, steps, const):
    check(
        "Slice", [X, starts, ends, axes, steps][: 5 if steps is not None else 4 if axes is not None else 3], const=const
    )


@pytest.mark.parametrize(
    "data,shape,allowzero",
    [
        (X, i64(0, -1), 0),
        (X, i64(-1), 0),
        (X, i64(5, 4, 3), 0),
        (X, i64(0, 0, 5), 1),
        (np.zeros((2, 0, 3), np.float32), i64(0, 6), 1),
        (np.zeros((2, 0, 3), np.float32), i64(0, 3, -1), 0),
    ],
)
def test_reshape(data, shape, allowzero):
    if allowzero and 0 in shape and data.size:
        shape = i64(*data.shape)
    check("Reshape", [data, shape], {"allowzero": allowzero}, const=(1,))
    check("Reshape", [data, shape], {"allowzero": allowzero})


@pytest.mark.parametrize(
    "indices,axis",
    [(i64(-1, 0, 2), 1), (np.array(-2, np.int64), 0), (i64(1), -1), (np.array([[0, -1], [1, 1]], np.int32), 2)],
)
def test_gather(indices, axis):
    check("Gather", [X, indices], {"axis": axis})


@pytest.mark.parametrize("batch_dims", [0, 1, 2])
def test_gather_nd(batch_dims):
    data = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    k = 2
    idx = np.stack([RNG.integers(-d, d, size=(2, 3, 2)) for d in data.shape[batch_dims : batch_dims + k]], -1)
    check("GatherND", [data, idx.astype(np.int64)], {"batch_dims": batch_dims})


@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 6, 3)])
def test_gather_elements_negative(shape):
    idx = RNG.integers(-4, 4, size=shape).astype(np.int64)
    check("GatherElements", [X, idx], {"axis": 1})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd(reduction):
    data = RNG.standard_normal((4, 3, 2)).astype(np.float32)
    idx = i64([0], [2], [0], [3]).reshape(4, 1) if reduction != "none" else i64([0], [2], [3]).reshape(3, 1)
    upd = RNG.standard_normal((idx.shape[0], 3, 2)).astype(np.float32)
    check("ScatterND", [data, idx, upd], {"reduction": reduction}, opset=18)


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements(reduction):
    data = RNG.standard_normal((3, 4)).astype(np.float32)
    idx = (
        np.array([[1, -1, 0], [2, 2, 3]], dtype=np.int64)
        if reduction != "none"
        else np.array([[1, -1, 0], [2, 0, 3]], dtype=np.int64)
    )
    upd = RNG.standard_normal(idx.shape).astype(np.float32)
    check("ScatterElements", [data, idx, upd], {"axis": 1, "reduction": reduction}, opset=18)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize(
    "pads,axes", [(i64(1, 0, 2, 2, 1, 0), None), (i64(2, 1, 0, 2), i64(-1, 0)), (i64(0, -1, 1, 2), i64(1, 2))]
)
def test_pad(mode, pads, axes):
    if mode != "constant" and (pads < 0).any():
        pytest.skip("negative pads only specified for constant mode")
    inputs = [X, pads, np.array(1.5, np.float32)] + ([axes] if axes is not None else [])
    check("Pad", inputs, {"mode": mode})


@pytest.mark.parametrize(
    "attrs,split", [({"num_outputs": 3}, None), ({}, i64(1, 3, 1)), ({"axis": -1, "num_outputs": 2}, None)]
)
def test_split(attrs, split):
    n = attrs.get("num_outputs", 3)
    check(
        "Split",
        [X] + ([split] if split is not None else []),
        {"axis": 2, **attrs} if "axis" not in attrs else attrs,
        n_out=n,
        opset=18,
    )


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("k,axis", [(1, -1), (3, 1), (20, 1), (64, 1)])
def test_topk_ties(k, axis, largest):
    # Few distinct values => many ties; both the partition and full-sort paths.
    x = RNG.integers(0, 5, size=(4, 300)).astype(np.float32)
    check("TopK", [x, i64(k)], {"axis": axis, "largest": largest}, n_out=2)


def test_topk_int_and_3d():
    x = RNG.integers(-50, 50, size=(2, 200, 3)).astype(np.int64)
    check("TopK", [x, i64(7)], {"axis": 1}, n_out=2)
    check("TopK", [x, i64(7)], {"axis": 1, "largest": 0}, n_out=2)


@pytest.mark.parametrize("attrs", [{"sorted": 1}, {"sorted": 0}, {"sorted": 1, "axis": 0}, {"sorted": 0, "axis": 1}])
def test_unique(attrs):
    x = RNG.integers(0, 3, size=(6, 4)).astype(np.float32)
    check("Unique", [x], attrs, n_out=4)


@pytest.mark.parametrize("axes", [None, i64(-1), i64(0, 2)])
def test_unsqueeze_squeeze(axes):
    y = X[:, :1, :1]
    check("Squeeze", [y] + ([axes] if axes is not None and max(axes) != 2 else []))
    if axes is not None:
        check("Unsqueeze", [X, axes])


def test_expand_tile_transpose_concat():
    check("Expand", [X[:, :1, :], i64(2, 1, 3, 4, 5)])
    check("Tile", [X, i64(2, 1, 3)])
    check("Transpose", [X], {"perm": [2, 0, 1]})
    check("Concat", [X, X[:, :2], X[:, :0]], {"axis": 1})


def test_onehot_reverse_sequence():
    idx = np.array([[0, -1, 7], [2, 3, -4]], dtype=np.int64)
    check("OneHot", [idx, np.array(4, np.int64), np.array([-1.0, 2.0], np.float32)], {"axis": 1})
    x = RNG.standard_normal((5, 3, 2)).astype(np.float32)
    check("ReverseSequence", [x, i64(5, 1, 3)], {"batch_axis": 1, "time_axis": 0})
    check("ReverseSequence", [x.transpose(1, 0, 2).copy(), i64(2, 4, 5)], {"batch_axis": 0, "time_axis": 1})


@pytest.mark.parametrize("center", [0, 1])
def test_nms(center):
    boxes = RNG.uniform(0, 10, size=(2, 30, 4)).astype(np.float32)
    boxes[..., 2:] = boxes[..., :2] + RNG.uniform(1, 5, size=(2, 30, 2))
    scores = RNG.uniform(size=(2, 3, 30)).astype(np.float32)
    scores[0, 0, :5] = 0.5  # ties
    check(
        "NonMaxSuppression",
        [boxes, scores, i64(6), np.array([0.3], np.float32), np.array([0.2], np.float32)],
        {"center_point_box": center},
    )


def test_range_and_generators():
    check("Range", [np.array(1.0, np.float32), np.array(2.05, np.float32), np.array(0.1, np.float32)])
    check("Range", [np.array(10, np.int64), np.array(-3, np.int64), np.array(-4, np.int64)])
    check("ConstantOfShape", [i64(2, 3)], {"value": numpy_helper.from_array(np.array([7], np.int32))})
    check("EyeLike", [np.zeros((3, 5), np.float32)], {"k": -1, "dtype": TensorProto.INT32})
    check("Trilu", [X, np.array(-1, np.int64)], {"upper": 0})


def test_dft_variants():
    x = RNG.standard_normal((2, 8, 1)).astype(np.float32)
    c = RNG.standard_normal((2, 8, 2)).astype(np.float32)
    check("DFT", [x, None, np.array(-2, np.int64)], {"onesided": 1}, opset=20)
    check("DFT", [c, np.array(6, np.int64), np.array(1, np.int64)], {"inverse": 1}, opset=20)
    check("DFT", [c, np.array(10, np.int64)], {}, opset=20, rtol=1e-4, atol=1e-5)


def test_losses():
    x = RNG.standard_normal((3, 5, 2)).astype(np.float32)
    t = np.array([[0, 4], [-1, 2], [3, -1]], dtype=np.int64)
    w = RNG.uniform(size=5).astype(np.float32)
    for reduction in ("none", "sum", "mean"):
        check("SoftmaxCrossEntropyLoss", [x, t, w], {"reduction": reduction, "ignore_index": -1}, n_out=2)
        check("NegativeLogLikelihoodLoss", [x, t], {"reduction": reduction, "ignore_index": -1})


def test_strings():
    x = np.array(["a b  c", " lead", "", "x,y"], dtype=object)
    check("StringSplit", [x], {}, n_out=2, opset=20)
    check("StringSplit", [x], {"delimiter": " ", "maxsplit": 1}, n_out=2, opset=20)
    check(
        "StringNormalizer",
        [np.array(["Monday", "the", "Apple"], dtype=object)],
        {"case_change_action": "UPPER", "stopwords": ["THE", "monday"], "locale": "C"},
    )
    check(
        "RegexFullMatch", [np.array([["ab12", "b"], ["ab", "abab"]], dtype=object)], {"pattern": r"(ab)+\d*"}, opset=20
    )


def test_tree_ensemble_post_transform():
    # Two stumps on feature 0 / 1, two targets.
    attrs = dict(
        nodes_featureids=[0, 1],
        nodes_modes=numpy_helper.from_array(np.array([0, 3], np.uint8)),
        nodes_splits=numpy_helper.from_array(np.array([0.0, 0.5], np.float32)),
        nodes_truenodeids=[0, 2],
        nodes_trueleafs=[1, 1],
        nodes_falsenodeids=[1, 3],
        nodes_falseleafs=[1, 1],
        leaf_targetids=[0, 1, 0, 1],
        leaf_weights=numpy_helper.from_array(np.array([1.0, -2.0, 0.5, 3.0], np.float32)),
        tree_roots=[0, 1],
        n_targets=2,
    )
    x = RNG.standard_normal((7, 2)).astype(np.float32)
    for agg in (0, 1, 2, 3):
        check("TreeEnsemble", [x], {**attrs, "aggregate_function": agg}, domain="ai.onnx.ml")
    check("TreeEnsemble", [x], {**attrs, "post_transform": 3}, domain="ai.onnx.ml")  # SOFTMAX_ZERO
    # onnxruntime swaps SOFTMAX (1) and LOGISTIC (2) for TreeEnsemble; we follow the spec.
    (logistic,), (ort_logistic,) = run_both("TreeEnsemble", [x], {**attrs, "post_transform": 2}, domain="ai.onnx.ml")
    (raw,), _ = run_both("TreeEnsemble", [x], attrs, domain="ai.onnx.ml")
    np.testing.assert_allclose(logistic, 1 / (1 + np.exp(-raw)), rtol=1e-6)
    np.testing.assert_allclose(
        logistic, run_both("TreeEnsemble", [x], {**attrs, "post_transform": 1}, domain="ai.onnx.ml")[1][0], rtol=1e-6
    )
    probit = {
        **attrs,
        "leaf_weights": numpy_helper.from_array(np.array([0.1, 0.2, 0.3, 0.45], np.float32)),
        "post_transform": 4,
    }
    got, expected = run_both("TreeEnsemble", [x], probit, domain="ai.onnx.ml")
    np.testing.assert_allclose(got[0], expected[0], atol=2e-3)


@pytest.mark.parametrize("mode", ["TF", "IDF", "TFIDF"])
def test_tfidf_skipgrams(mode):
    pool = np.array([2, 3, 5, 4, 5, 6, 7, 8, 6, 7], dtype=np.int64)  # 4 unigrams, 3 bigrams
    attrs = dict(
        mode=mode,
        min_gram_length=1,
        max_gram_length=2,
        max_skip_count=2,
        ngram_counts=[0, 4],
        ngram_indexes=[0, 1, 2, 3, 4, 5, 6],
        pool_int64s=pool.tolist(),
        weights=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
    )
    x = RNG.integers(2, 9, size=(3, 12)).astype(np.int64)
    check("TfIdfVectorizer", [x], attrs, opset=9)
    strings = np.array([str(v) for v in x[0]], dtype=object)
    s_attrs = {**attrs, "pool_strings": [str(v) for v in pool]}
    del s_attrs["pool_int64s"]
    check("TfIdfVectorizer", [strings], s_attrs, opset=9)


def test_label_encoder_numeric_and_string():
    x = np.array([1.5, np.nan, 3.0, 7.0], dtype=np.float32)
    check(
        "LabelEncoder",
        [x],
        {"keys_floats": [3.0, 1.5, float("nan")], "values_int64s": [30, 15, 99]},
        domain="ai.onnx.ml",
    )
    s = np.array(["b", "zz", "a"], dtype=object)
    check("LabelEncoder", [s], {"keys_strings": ["a", "b"], "values_floats": [1.0, 2.0]}, domain="ai.onnx.ml")
    check(
        "LabelEncoder",
        [np.array([1, 5], np.int64)],
        {"keys_int64s": [5, 1], "values_strings": ["five", "one"], "default_string": "?"},
        domain="ai.onnx.ml",
    )
