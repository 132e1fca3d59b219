"""The fused activations have one owner (litert.activations); the CPU plugin derives from it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from litert.activations import ACTIVATIONS, fusable
from litert.ir import Node
from litert_cpu.kernels.nn._common import ACTIVATIONS as IN_PLACE
from litert_cpu.kernels.nn._common import activation
from litert_cpu.native.lowering import NATIVE_ACTIVATIONS


def test_cpu_tables_cover_exactly_the_core_table():
    assert set(IN_PLACE) == set(ACTIVATIONS)
    assert set(NATIVE_ACTIVATIONS) == set(ACTIVATIONS)


def test_clip_without_a_bound_clips_nothing_on_that_side():
    clip = ACTIVATIONS["Clip"]
    consts = {"lo": np.array(-1.0, np.float32)}
    assert clip.params_of(Node("Clip", ["x", "lo"], ["y"]), consts.get) == [-1.0, math.inf]
    assert clip.params_of(Node("Clip", ["x", "", "hi"], ["y"]), {}.get) is None  # a bound computed at run time
    x = np.array([-np.inf, -3.0, 0.5, 1e38, np.inf], np.float32)
    fn = activation("Clip", [-1.0])
    np.testing.assert_array_equal(fn(x.copy()), np.clip(x, -1.0, None))


@pytest.mark.parametrize("op, attrs, given, full", [
    ("LeakyRelu", {}, [], [0.01]),
    ("LeakyRelu", {"alpha": 0.3}, None, [0.3]),
    ("HardSigmoid", {"alpha": 0.5}, [0.5], [0.5, 0.5]),
    ("Relu", {}, [], []),
])
def test_parameters_and_defaults(op, attrs, given, full):
    spec = fusable(Node(op, ["x"], ["y"], attrs))
    assert spec is not None
    assert spec.params_of(Node(op, ["x"], ["y"], attrs), {}.get) == full
    if given is not None:
        assert spec.complete(given) == full


def test_only_the_default_domain_fuses():
    assert fusable(Node("Relu", ["x"], ["y"], domain="com.example")) is None
