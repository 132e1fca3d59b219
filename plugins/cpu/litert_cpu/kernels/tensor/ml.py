"""Traditional-ML operators of the ``ai.onnx.ml`` domain."""
from __future__ import annotations

import math

import numpy as np

from .._base import Kernel
from .._registry import kernel

ML = "ai.onnx.ml"


@kernel("ArrayFeatureExtractor", domain=ML)
class ArrayFeatureExtractor(Kernel):
    """Select columns of the last axis; a 1-D input gives a ``[1, k]`` result (as onnxruntime)."""

    def run(self, x, indices):
        idx = indices.reshape(-1)
        out = np.take(x, idx, axis=-1)
        if x.ndim == 1:
            return (out.reshape(1, -1),)
        return (out,)


@kernel("Binarizer", domain=ML)
class Binarizer(Kernel):
    def run(self, x):
        return ((x > self.attrs.get("threshold", 0.0)).astype(x.dtype),)


@kernel("LabelEncoder", domain=ML)
class LabelEncoder(Kernel):
    """Map keys to values; missing keys get the default.

    Numeric keys use a sorted table and ``searchsorted`` (NaN keys match NaN);
    string keys use a dict.
    """

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        keys = self._pick(attrs, "keys")
        values, default, self.dtype = self._values(attrs)
        self.default = default
        self.string_keys = keys.dtype == object
        if self.string_keys:
            self.table = dict(zip(keys.tolist(), values.tolist()))
        else:
            order = np.argsort(keys, kind="stable")
            self.keys = keys[order]
            self.values = values[order]

    @staticmethod
    def _pick(attrs, prefix):
        for suffix, dtype in (("tensor", None), ("strings", object), ("int64s", np.int64), ("floats", np.float32)):
            value = attrs.get(f"{prefix}_{suffix}")
            if value is not None and len(np.asarray(value).reshape(-1)):
                return np.asarray(value, dtype=dtype).reshape(-1)
        raise ValueError(f"LabelEncoder needs {prefix}_*")

    def _values(self, attrs):
        values = self._pick(attrs, "values")
        if attrs.get("values_tensor") is not None:
            d = attrs.get("default_tensor")
            if d is not None:
                return values, np.asarray(d).reshape(-1)[0], values.dtype
            fallback = {"O": "_Unused", "i": -1, "u": 0}.get(values.dtype.kind, -0.0)
            return values, fallback, values.dtype
        if values.dtype == object:
            return values, attrs.get("default_string", "_Unused"), np.dtype(object)
        if values.dtype == np.int64:
            return values, attrs.get("default_int64", -1), np.dtype(np.int64)
        return values, attrs.get("default_float", -0.0), np.dtype(np.float32)

    def run(self, x):
        if self.string_keys:
            get, default = self.table.get, self.default
            flat = [get(s, default) for s in x.reshape(-1).tolist()]
            out = np.empty(len(flat), dtype=self.dtype)
            out[:] = flat
            return (out.reshape(x.shape),)
        xs = x.astype(self.keys.dtype, copy=False)
        n = len(self.keys)
        pos = np.clip(np.searchsorted(self.keys, xs), 0, n - 1)
        found = self.keys[pos] == xs
        if self.keys.dtype.kind == "f":
            found |= np.isnan(self.keys[pos]) & np.isnan(xs)
        out = np.where(found, self.values[pos], np.asarray(self.default, dtype=self.dtype))
        return (out.astype(self.dtype, copy=False),)


# TreeEnsemble node modes.
LEQ, LT, GTE, GT, EQ, NEQ, MEMBER = range(7)
_COMPARE = {LEQ: np.less_equal, LT: np.less, GTE: np.greater_equal, GT: np.greater, EQ: np.equal, NEQ: np.not_equal}


@kernel("TreeEnsemble", domain=ML)
class TreeEnsemble(Kernel):
    """Evaluate every (sample, tree) pair in lock-step, one tree level per step.

    The state is a node index per pair plus an "is leaf" flag; each step
    gathers the split feature and threshold of all pairs still inside a tree
    and moves them to their true/false child.
    """

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        a = attrs
        self.splits = np.asarray(a["nodes_splits"]).reshape(-1).astype(np.float64)
        self.features = np.asarray(a["nodes_featureids"], dtype=np.int64)
        self.modes = np.asarray(a["nodes_modes"]).reshape(-1).astype(np.int64)
        self.true_ids = np.asarray(a["nodes_truenodeids"], dtype=np.int64)
        self.false_ids = np.asarray(a["nodes_falsenodeids"], dtype=np.int64)
        self.true_leaf = np.asarray(a["nodes_trueleafs"], dtype=bool)
        self.false_leaf = np.asarray(a["nodes_falseleafs"], dtype=bool)
        self.leaf_targets = np.asarray(a["leaf_targetids"], dtype=np.int64)
        self.leaf_weights = np.asarray(a["leaf_weights"]).reshape(-1).astype(np.float64)
        self.roots = np.asarray(a["tree_roots"], dtype=np.int64)
        missing = a.get("nodes_missing_value_tracks_true")
        self.missing_true = np.zeros(len(self.modes), bool) if missing is None else np.asarray(missing, dtype=bool)
        self.n_targets = int(a["n_targets"])
        self.aggregate = int(a.get("aggregate_function", 1))
        self.post = int(a.get("post_transform", 0))
        # Set-membership nodes: node -> sorted member values (NaN-separated list in node order).
        self.members: dict[int, np.ndarray] = {}
        mv = a.get("membership_values")
        if mv is not None:
            flat = np.asarray(mv, dtype=np.float64).reshape(-1)
            groups = np.split(flat, np.flatnonzero(np.isnan(flat)) + 1)
            member_nodes = np.flatnonzero(self.modes == MEMBER)
            for node, group in zip(member_nodes, groups):
                self.members[int(node)] = group[~np.isnan(group)]

    def _go_true(self, node: np.ndarray, value: np.ndarray) -> np.ndarray:
        mode = self.modes[node]
        split = self.splits[node]
        res = np.zeros(node.shape, dtype=bool)
        for m, cmp in _COMPARE.items():
            sel = mode == m
            if sel.any():
                res[sel] = cmp(value[sel], split[sel])
        for member_node, members in self.members.items():
            sel = node == member_node
            if sel.any():
                res[sel] = np.isin(value[sel], members)
        return res | (np.isnan(value) & self.missing_true[node])

    def run(self, x):
        x2 = x.reshape(x.shape[0], -1)
        n, t = x2.shape[0], len(self.roots)
        sample = np.repeat(np.arange(n), t)
        node = np.tile(self.roots, n)
        # A root whose both branches are the same leaf is a one-leaf tree.
        leaf = np.tile(self.true_leaf[self.roots] & self.false_leaf[self.roots]
                       & (self.true_ids[self.roots] == self.false_ids[self.roots]), n)
        node = np.where(leaf, self.true_ids[node], node)
        active = np.flatnonzero(~leaf)
        while active.size:
            cur = node[active]
            value = x2[sample[active], self.features[cur]].astype(np.float64)
            go = self._go_true(cur, value)
            node[active] = np.where(go, self.true_ids[cur], self.false_ids[cur])
            leaf[active] = np.where(go, self.true_leaf[cur], self.false_leaf[cur])
            active = active[~leaf[active]]
        return (self._aggregate(sample, node, n, t).astype(x.dtype),)

    def _aggregate(self, sample, leaf_node, n, t):
        target = self.leaf_targets[leaf_node]
        weight = self.leaf_weights[leaf_node]
        index = (sample, target)
        if self.aggregate in (0, 1):  # AVERAGE, SUM
            out = np.zeros((n, self.n_targets))
            np.add.at(out, index, weight)
            if self.aggregate == 0:
                out /= t
        elif self.aggregate == 2:  # MIN
            out = np.full((n, self.n_targets), np.inf)
            np.minimum.at(out, index, weight)
        else:  # MAX
            out = np.full((n, self.n_targets), -np.inf)
            np.maximum.at(out, index, weight)
        if self.aggregate in (2, 3):
            # Targets no tree voted for are 0 (as onnxruntime), not +-inf.
            hit = np.zeros(out.shape, dtype=bool)
            hit[index] = True
            out[~hit] = 0.0
        return _post_transform(out, self.post)


def _post_transform(y: np.ndarray, kind: int) -> np.ndarray:
    if kind == 1:  # SOFTMAX
        e = np.exp(y - y.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == 2:  # LOGISTIC
        return 1.0 / (1.0 + np.exp(-y))
    if kind == 3:  # SOFTMAX_ZERO: softmax over non-zero entries, zeros stay zero
        nz = y != 0
        e = np.where(nz, np.exp(y - np.where(nz, y, -np.inf).max(axis=1, keepdims=True)), 0.0)
        s = e.sum(axis=1, keepdims=True)
        return np.divide(e, s, out=np.zeros_like(e), where=s > 0)
    if kind == 4:  # PROBIT
        return np.sqrt(2.0) * _erfinv(2.0 * y - 1.0)
    return y


def _erfinv(y: np.ndarray) -> np.ndarray:
    """Inverse error function: Giles' approximation refined by two Newton steps.

    ``erfinv(+-1) = +-inf``; outside ``[-1, 1]`` it is NaN.
    """
    erf = np.vectorize(math.erf, otypes=[np.float64])
    inside = np.abs(y) < 1.0
    yi = np.where(inside, y, 0.0)
    w = -np.log((1.0 - yi) * (1.0 + yi))
    x = np.where(
        w < 5.0,
        np.polyval([2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                    -0.00125372503, -0.00417768164, 0.246640727, 1.50140941], w - 2.5),
        np.polyval([-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                    -0.0076224613, 0.00943887047, 1.00167406, 2.83297682], np.sqrt(np.maximum(w, 5.0)) - 3.0),
    ) * yi
    for _ in range(2):
        x = x - (erf(x) - yi) / (2.0 / np.sqrt(np.pi) * np.exp(-x * x))
    edge = np.where(np.abs(y) == 1.0, np.sign(y) * np.inf, np.nan)
    return np.where(inside, x, edge)
