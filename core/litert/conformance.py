"""A conformance kit for backend plugins, to run in the vendor's own tests.

    from litert.conformance import check_backend

    def test_my_backend_conforms():
        report = check_backend("myaccel")     # the name the plugin registered
        assert report.passed, "\\n".join(report.lines())

For every case below whose ``(domain, op_type)`` the backend's
``supported_ops()`` claims, the kit builds a one-node model and checks, as
onnxruntime's provider tests do:

* placement: the node runs on the backend (a claimed operator it refuses
  fails, with the backend's own reason);
* copies: the schedule moves each non-constant input onto the device and the
  output back, and the caller gets host numpy arrays;
* values: the outputs match litert's CPU backend (the oracle) within the
  case's tolerance, in dtype and shape.

Cases are litert IR (no file format involved) with seeded random inputs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import HOST
from .ir import DType, Graph, Model, Node, Value
from .runtime.session import Session
from .schema import schemas

Data = Callable[[np.random.Generator], np.ndarray]


def _normal(*shape: int) -> Data:
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


def _away_from_zero(*shape: int) -> Data:
    return lambda rng: (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


@dataclass(frozen=True)
class Case:
    op_type: str
    inputs: dict[str, Data]
    consts: dict[str, Data] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    rtol: float = 1e-5
    atol: float = 1e-6


#: one case per operator (float32): the elementwise, matrix and layout operators accelerators take first
CASES: tuple[Case, ...] = (
    *(Case(op, {"x": _normal(2, 3, 4, 5)}) for op in ("Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Erf")),
    *(Case(op, {"a": _normal(2, 3, 4, 5), "b": _normal(3, 1, 5)}) for op in ("Add", "Sub", "Mul", "Max", "Min")),
    Case("Div", {"a": _normal(2, 3, 4, 5), "b": _away_from_zero(3, 1, 5)}),
    Case("MatMul", {"a": _normal(2, 3, 8)}, {"b": _normal(8, 5)}, rtol=1e-4, atol=1e-5),
    Case("Gemm", {"a": _normal(4, 8)}, {"b": _normal(6, 8), "c": _normal(6)}, {"transB": 1}, rtol=1e-4, atol=1e-5),
    Case("Conv", {"x": _normal(1, 3, 9, 9)}, {"w": _normal(4, 3, 3, 3), "bias": _normal(4)},
         {"pads": [1, 1, 1, 1], "strides": [2, 2]}, rtol=1e-4, atol=1e-5),
    Case("MaxPool", {"x": _normal(1, 3, 8, 8)}, attrs={"kernel_shape": [2, 2], "strides": [2, 2]}),
    Case("AveragePool", {"x": _normal(1, 3, 8, 8)}, attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    Case("GlobalAveragePool", {"x": _normal(1, 3, 8, 8)}),
    Case("Softmax", {"x": _normal(2, 3, 10)}, attrs={"axis": -1}),
    Case("Transpose", {"x": _normal(2, 3, 4)}, attrs={"perm": [2, 0, 1]}),
    Case("Reshape", {"x": _normal(2, 3, 4)}, {"shape": lambda rng: np.array([4, -1], np.int64)}),
    Case("Concat", {"a": _normal(2, 3), "b": _normal(2, 5)}, attrs={"axis": 1}),
)


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    detail: str = ""


@dataclass
class ConformanceReport:
    backend: str
    results: list[CaseResult]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def lines(self) -> list[str]:
        head = f"{self.backend}: {sum(r.passed for r in self.results)}/{len(self.results)} cases pass"
        return [head] + [f"  FAIL {r.case}: {r.detail}" for r in self.results if not r.passed]


def _model(case: Case, rng: np.random.Generator) -> tuple[Model, dict[str, np.ndarray]]:
    feeds = {name: make(rng) for name, make in case.inputs.items()}
    consts = {name: make(rng) for name, make in case.consts.items()}
    node = Node(case.op_type, [*feeds, *consts], ["y"], dict(case.attrs), name=f"{case.op_type.lower()}_0",
                domain=case.domain)
    schemas().complete_attrs(node)
    graph = Graph(nodes=[node], inputs=list(feeds), outputs=["y"])
    for name, array in feeds.items():
        graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape))
    for name, array in consts.items():
        graph.values[name] = Value(name, DType.from_numpy(array.dtype), tuple(array.shape), const=array)
    graph.values["y"] = Value("y")
    return Model(graph=graph, opsets={"": schemas().latest_opset()}), feeds


def _check(case: Case, backend: str, seed: int) -> CaseResult:
    name = f"{case.domain + '::' if case.domain else ''}{case.op_type}"
    model, feeds = _model(case, np.random.default_rng(seed))
    session = Session(model, devices=[backend, HOST], optimize_level="none")
    [placed] = session.placement
    if placed.backend != backend:
        return CaseResult(name, False, f"claimed in supported_ops() but placed on {placed.backend}: "
                                       f"{placed.refused.get(backend, '?')}")
    copied_in = {c.value for c in session.schedule.copies if c.target == backend}
    copied_out = {c.value for c in session.schedule.copies if c.source == backend and c.target == HOST}
    if backend != HOST and (copied_in != set(feeds) or copied_out != {"y"}):
        return CaseResult(name, False, f"device copies in {sorted(copied_in)}, out {sorted(copied_out)}")
    got = session.run(feeds)["y"]
    want = Session(_model(case, np.random.default_rng(seed))[0], devices=[HOST], optimize_level="none").run(feeds)["y"]
    if type(got) is not np.ndarray:
        return CaseResult(name, False, f"the output reached the caller as {type(got).__name__}, not a numpy array")
    if got.dtype != want.dtype or got.shape != want.shape:
        return CaseResult(name, False, f"{got.dtype}{list(got.shape)}, the CPU gives {want.dtype}{list(want.shape)}")
    if not np.allclose(got, want, rtol=case.rtol, atol=case.atol):
        worst = float(np.max(np.abs(got.astype(np.float64) - want)))
        return CaseResult(name, False, f"max abs difference {worst:.3g} (rtol {case.rtol}, atol {case.atol})")
    return CaseResult(name, True)


def check_backend(backend: str, cases: tuple[Case, ...] = CASES, seed: int = 0) -> ConformanceReport:
    """Run every case whose operator ``backend`` (a registered backend's name)
    claims in ``supported_ops()``; a case that raises fails with the error."""
    from .plugins import host

    claimed = host().backend(backend).supported_ops()
    results = []
    for case in cases:
        if (case.domain, case.op_type) not in claimed:
            continue
        try:
            results.append(_check(case, backend, seed))
        except Exception as err:  # the vendor's backend raised: report it, run the other cases
            results.append(CaseResult(case.op_type, False, f"{type(err).__name__}: {err}"))
    return ConformanceReport(backend, results)
