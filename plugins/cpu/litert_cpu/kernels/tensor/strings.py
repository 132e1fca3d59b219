"""String operators on numpy object arrays of ``str``.

Python-level string work cannot be vectorised in numpy; these use
``np.frompyfunc`` (one C-level loop calling a Python function) rather than
explicit Python loops where possible.
"""
from __future__ import annotations

import operator
import re

import numpy as np

from .._base import Kernel
from .._registry import kernel


def as_object(value) -> np.ndarray:
    """``frompyfunc`` returns a bare object for 0-d input; always give an object ndarray."""
    if isinstance(value, np.ndarray):
        return value.astype(object, copy=False)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


_concat = np.frompyfunc(operator.add, 2, 1)


@kernel("StringConcat")
class StringConcat(Kernel):
    def run(self, x, y):
        return (as_object(_concat(x.astype(object, copy=False), y.astype(object, copy=False))),)


@kernel("RegexFullMatch")
class RegexFullMatch(Kernel):
    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        regex = re.compile(attrs["pattern"])
        self.match = np.frompyfunc(lambda s: regex.fullmatch(s) is not None, 1, 1)

    def run(self, x):
        return (np.asarray(self.match(x), dtype=np.bool_),)


@kernel("StringSplit")
class StringSplit(Kernel):
    """Split each string; pad rows with "" to the longest split.  Outputs (Y, Z=counts)."""

    def run(self, x):
        delim = self.attrs.get("delimiter") or None  # "" / absent: split on whitespace runs
        maxsplit = self.attrs.get("maxsplit")
        maxsplit = -1 if maxsplit is None else maxsplit
        flat = x.reshape(-1)
        # An empty string has no substrings (as onnxruntime), whatever the delimiter.
        parts = [s.split(delim, maxsplit) if s else [] for s in flat]
        counts = np.array([len(p) for p in parts], dtype=np.int64).reshape(x.shape)
        width = int(counts.max()) if counts.size else 0
        out = np.full((flat.size, width), "", dtype=object)
        for i, p in enumerate(parts):
            out[i, : len(p)] = p
        return out.reshape(x.shape + (width,)), counts


@kernel("StringNormalizer")
class StringNormalizer(Kernel):
    """Stopword removal and case change on a ``[C]`` or ``[1, C]`` string tensor.

    Stopwords are whole elements; elements that are removed disappear from the
    output (an all-removed input yields a single "").
    """

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.action = attrs.get("case_change_action", "NONE")
        self.case_sensitive = bool(attrs.get("is_case_sensitive", 0))
        stops = attrs.get("stopwords") or []
        self.stops = set(stops) if self.case_sensitive else {s.lower() for s in stops}

    def _keep(self, s: str) -> bool:
        return (s if self.case_sensitive else s.lower()) not in self.stops

    def run(self, x):
        change = {"LOWER": str.lower, "UPPER": str.upper}.get(self.action)
        flat = x.reshape(-1)
        kept = [s for s in flat if self._keep(s)] if self.stops else list(flat)
        if change is not None:
            kept = [change(s) for s in kept]
        if not kept:
            kept = [""]
        out = np.empty(len(kept), dtype=object)
        out[:] = kept
        return (out.reshape(1, -1) if x.ndim == 2 else out,)


@kernel("TfIdfVectorizer")
class TfIdfVectorizer(Kernel):
    """Count (skip-)n-grams from a fixed pool, then weight them.

    Each n-gram size ``n`` with skip ``d`` is matched by sliding windows over
    the (token-id encoded) rows, compared to the pool through a sorted
    byte-view lookup: no per-token Python loop.
    """

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.mode = attrs["mode"]
        self.min_n = attrs["min_gram_length"]
        self.max_n = attrs["max_gram_length"]
        self.max_skip = attrs["max_skip_count"]
        indexes = [int(i) for i in attrs["ngram_indexes"]]
        self.size = max(indexes) + 1
        w = attrs.get("weights")
        self.weights = None if w is None or len(w) == 0 else np.asarray(w, dtype=np.float32)
        strings = attrs.get("pool_strings")
        pool = list(strings) if strings else [int(v) for v in attrs["pool_int64s"]]
        # Token -> dense id (ids are only needed for equality).
        self.vocab = {tok: i for i, tok in enumerate(dict.fromkeys(pool))}
        if not strings:  # sorted integer vocabulary for searchsorted lookups
            keys = np.array(list(self.vocab), dtype=np.int64)
            order = np.argsort(keys)
            self.int_keys = keys[order]
            self.int_ids = np.array(list(self.vocab.values()), dtype=np.int64)[order]
        ids = np.array([self.vocab[t] for t in pool], dtype=np.int64)
        starts = [int(c) for c in attrs["ngram_counts"]] + [len(pool)]
        # n -> (sorted pool n-grams as void rows, their output indexes)
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        gram_id = 0
        for n, (a, b) in enumerate(zip(starts[:-1], starts[1:]), start=1):
            grams = ids[a:b].reshape(-1, n)
            outs = np.array(indexes[gram_id : gram_id + len(grams)], dtype=np.int64)
            gram_id += len(grams)
            if self.min_n <= n <= self.max_n and len(grams):
                keys = _void(grams)
                order = np.argsort(keys)
                self.tables[n] = (keys[order], outs[order])

    def _encode(self, x: np.ndarray) -> np.ndarray:
        """Tokens -> pool ids (-1 for tokens outside the pool)."""
        if x.dtype == object or x.dtype.kind == "U":
            get = self.vocab.get
            return np.array([get(s, -1) for s in x.reshape(-1)], dtype=np.int64).reshape(x.shape)
        keys, ids = self.int_keys, self.int_ids
        xs = x.astype(np.int64, copy=False)
        if not len(keys):
            return np.full(xs.shape, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(keys, xs), 0, len(keys) - 1)
        return np.where(keys[pos] == xs, ids[pos], -1)

    def run(self, x):
        rows = self._encode(x)
        rows2 = rows.reshape(1, -1) if rows.ndim <= 1 else rows
        counts = np.zeros((rows2.shape[0], self.size), dtype=np.int64)
        length = rows2.shape[1]
        for n, (keys, outs) in self.tables.items():
            skips = range(1) if n == 1 else range(self.max_skip + 1)
            for skip in skips:
                d = skip + 1
                span = d * (n - 1) + 1
                if span > length:
                    break
                offs = np.arange(length - span + 1)[:, None] + d * np.arange(n)
                windows = rows2[:, offs]  # [B, W, n]
                wkeys = _void(windows.reshape(-1, n))
                pos = np.clip(np.searchsorted(keys, wkeys), 0, len(keys) - 1)
                hit = keys[pos] == wkeys
                batch = np.repeat(np.arange(rows2.shape[0]), windows.shape[1])
                np.add.at(counts, (batch[hit], outs[pos[hit]]), 1)
        y = self._weigh(counts)
        return (y.reshape(-1) if rows.ndim <= 1 else y,)

    def _weigh(self, counts: np.ndarray) -> np.ndarray:
        if self.mode == "TF":
            return counts.astype(np.float32)
        if self.mode == "IDF":
            present = (counts > 0).astype(np.float32)
            return present * self.weights if self.weights is not None else present
        tf = counts.astype(np.float32)
        return tf * self.weights if self.weights is not None else tf


def _void(rows: np.ndarray) -> np.ndarray:
    """View each int64 row as one opaque (bytewise-comparable) scalar."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1)
