"""Optimizer update rules of the ``ai.onnx.preview.training`` domain.

Inputs are ``(R, T, X_1..X_n, G_1..G_n, <state>_1..n ...)`` with R the
learning rate and T the update count (scalars); outputs are the new X's
followed by the new states.  R and T are turned into Python scalars so the
arithmetic stays in the tensors' dtype.
"""
from __future__ import annotations

import math

import numpy as np

from .._base import Kernel
from .._registry import kernel

DOMAIN = "ai.onnx.preview.training"


class _Optimizer(Kernel):
    n_groups: int  # tensors per parameter: X, G and the states
    #: the float attributes the rule reads, each kept as an instance attribute of the same name: name -> its
    #: default (None: required)
    floats: dict[str, float | None] = {}

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        for name, default in self.floats.items():
            setattr(self, name, float(attrs[name] if default is None else attrs.get(name, default)))

    def update(self, r: float, t: int, x, g, *states):
        raise NotImplementedError

    def run(self, r, t, *tensors):
        n = len(tensors) // self.n_groups
        if n * self.n_groups != len(tensors):
            raise ValueError(f"expected a multiple of {self.n_groups} tensors after R and T, got {len(tensors)}")
        r, t = float(np.asarray(r).reshape(-1)[0]), int(np.asarray(t).reshape(-1)[0])
        groups = [tensors[k * n : (k + 1) * n] for k in range(self.n_groups)]
        results = [self.update(r, t, *args) for args in zip(*groups)]
        # results[i] = (x_new, state1_new, ...); outputs are grouped by kind
        return tuple(res[k] for k in range(self.n_groups - 1) for res in results)


@kernel("Adagrad", domain=DOMAIN)
class Adagrad(_Optimizer):
    n_groups = 3
    floats = {"decay_factor": 0.0, "epsilon": 0.0, "norm_coefficient": 0.0}

    def update(self, r, t, x, g, h):
        rate = r / (1 + t * self.decay_factor)
        g_reg = self.norm_coefficient * x + g
        h_new = h + g_reg * g_reg
        x_new = x - rate * g_reg / (np.sqrt(h_new) + self.epsilon)
        return x_new.astype(x.dtype, copy=False), h_new.astype(h.dtype, copy=False)


@kernel("Momentum", domain=DOMAIN)
class Momentum(_Optimizer):
    n_groups = 3
    floats = {"alpha": None, "beta": None, "norm_coefficient": None}

    def __init__(self, attrs, ctx):
        super().__init__(attrs, ctx)
        self.nesterov = attrs["mode"] == "nesterov"
        if attrs["mode"] not in ("standard", "nesterov"):
            raise ValueError(f"Momentum mode must be 'standard' or 'nesterov', got {attrs['mode']!r}")

    def update(self, r, t, x, g, v):
        g_reg = self.norm_coefficient * x + g
        beta = self.beta if t > 0 else 1.0  # the first step takes the full gradient
        v_new = self.alpha * v + beta * g_reg
        step = g_reg + self.alpha * v_new if self.nesterov else v_new
        x_new = x - r * step
        return x_new.astype(x.dtype, copy=False), v_new.astype(v.dtype, copy=False)


@kernel("Adam", domain=DOMAIN)
class Adam(_Optimizer):
    n_groups = 4
    floats = {"alpha": 0.9, "beta": 0.999, "epsilon": 0.0, "norm_coefficient": 0.0, "norm_coefficient_post": 0.0}

    def update(self, r, t, x, g, v, h):
        g_reg = self.norm_coefficient * x + g
        v_new = self.alpha * v + (1 - self.alpha) * g_reg
        h_new = self.beta * h + (1 - self.beta) * (g_reg * g_reg)
        if t > 0:  # bias correction of both moments
            r = r * math.sqrt(1 - self.beta**t) / (1 - self.alpha**t)
        x_new = (1 - self.norm_coefficient_post) * (x - r * (v_new / (np.sqrt(h_new) + self.epsilon)))
        return (x_new.astype(x.dtype, copy=False), v_new.astype(v.dtype, copy=False),
                h_new.astype(h.dtype, copy=False))
