"""The ``ai.onnx.ml`` domain (classical ML).  Maps are not IR types: operators
reading or producing them get what the tensor side tells.  (Binarizer,
Imputer, Normalizer and Scaler are elementwise; ArrayFeatureExtractor is
with the indexing operators.)"""
from __future__ import annotations

import numpy as np

from ...ir import Dim, DType, Graph, Node, Value
from ._base import UNKNOWN, Info, Inputs, rule

ML = "ai.onnx.ml"


def _rows(x: Value | None) -> Dim:
    """The batch size of a classifier/regressor input ([N, F] or one sample [F])."""
    if x.shape is None:
        return None
    return x.shape[0] if len(x.shape) == 2 else (1 if len(x.shape) == 1 else None)


def _labels(node: Node, strings_attr: str) -> DType:
    """Class labels are strings when given as strings, else int64."""
    return DType.STRING if node.attrs.get(strings_attr) else DType.INT64


@rule("LabelEncoder", domain=ML)
def _label_encoder(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    values = node.attrs.get("values_tensor")
    if values is not None:
        dtype = DType.from_numpy(np.asarray(values).dtype)
    elif node.attrs.get("values_strings"):
        dtype = DType.STRING
    elif node.attrs.get("values_int64s"):
        dtype = DType.INT64
    else:
        dtype = DType.FLOAT32
    return [(dtype, inputs[0].shape)]


@rule("CategoryMapper", domain=ML)
def _category_mapper(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    dtype = None if x.dtype is None else (DType.INT64 if x.dtype is DType.STRING else DType.STRING)
    return [(dtype, x.shape)]


@rule("CastMap", domain=ML)
def _cast_map(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    to = {"TO_FLOAT": DType.FLOAT32, "TO_STRING": DType.STRING, "TO_INT64": DType.INT64}
    return [(to.get(node.attrs.get("cast_to", "TO_FLOAT")), None)]


@rule("DictVectorizer", domain=ML)
def _dict_vectorizer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [UNKNOWN]  # the element type is the map's value type, which the IR does not keep


@rule("ZipMap", domain=ML)
def _zip_map(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(None, None, "sequence")]  # a sequence of maps


@rule("FeatureVectorizer", domain=ML)
def _feature_vectorizer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    width = sum(node.attrs.get("inputdimensions") or []) or None
    first = inputs[0]
    rows = first.shape[0] if first is not None and first.shape else None
    return [(DType.FLOAT32, (rows, width))]


@rule("OneHotEncoder", domain=ML)
def _one_hot_encoder(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    cats = len(node.attrs.get("cats_int64s") or node.attrs.get("cats_strings") or [])
    return [(DType.FLOAT32, None if x.shape is None else (*x.shape, cats))]


@rule("LinearRegressor", domain=ML)
def _linear_regressor(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.FLOAT32, (_rows(inputs[0]), node.attrs.get("targets", 1)))]


@rule("SVMRegressor", domain=ML)
def _svm_regressor(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.FLOAT32, (_rows(inputs[0]), 1))]


@rule("TreeEnsembleRegressor", domain=ML)
def _tree_regressor(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(DType.FLOAT32, (_rows(inputs[0]), node.attrs.get("n_targets")))]


@rule("TreeEnsemble", domain=ML)
def _tree_ensemble(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    return [(inputs[0].dtype, (_rows(inputs[0]), node.attrs.get("n_targets")))]


@rule("LinearClassifier", "SVMClassifier", "TreeEnsembleClassifier", domain=ML)
def _classifier(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    rows = _rows(inputs[0])
    # the score columns depend on the binary/multi-class convention: left unknown
    return [(_labels(node, "classlabels_strings"), (rows,)), (DType.FLOAT32, (rows, None))]
