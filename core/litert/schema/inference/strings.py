"""String operators.  Sizes that depend on the text (splits, stopword
removal) are unknown."""
from __future__ import annotations

from ...ir import DType, Graph, Node
from ._base import Info, Inputs, rule


@rule("StringNormalizer")
def _normalizer(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    if x.shape is None:
        return [(DType.STRING, None)]
    # stopwords and empty strings are dropped along the last axis
    return [(DType.STRING, (*x.shape[:-1], None))]


@rule("StringSplit")
def _split(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    return [(DType.STRING, None if x.shape is None else (*x.shape, None)), (DType.INT64, x.shape)]


@rule("TfIdfVectorizer")
def _tfidf(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    x = inputs[0]
    width = max(node.attrs["ngram_indexes"]) + 1
    if x.shape is None:
        return [(DType.FLOAT32, None)]
    return [(DType.FLOAT32, (width,) if len(x.shape) == 1 else (x.shape[0], width))]


@rule("ImageDecoder")
def _image_decoder(node: Node, inputs: Inputs, graph: Graph) -> list[Info]:
    channels = 1 if node.attrs.get("pixel_format", "RGB") == "Grayscale" else 3
    return [(DType.UINT8, (None, None, channels))]
