"""The contract of a hardware backend, and of its device tensors.

The shape follows onnxruntime's execution providers and TFLite's
SimpleDelegate: the scheduler asks each backend, by priority, which nodes it
can run (:meth:`Backend.check_node`), partitions the graph into maximal
subgraphs per backend, then asks each backend to :meth:`Backend.compile` its
subgraphs into :class:`CompiledPartition` objects.  The CPU backend must
accept every node; it is the fallback.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from .errors import BackendUnavailableError
from .ir import DType, Graph, Node
from .memory import MemoryPlan
from .passes.base import Evaluator

#: the backend whose memory is the host's (numpy arrays): model inputs arrive
#: there and outputs leave from there; no copy is needed to or from it
HOST = "cpu"


class Availability(NamedTuple):
    """Result of :meth:`Backend.probe`: whether the device can be used, and why."""

    available: bool
    reason: str = ""
    #: the probe itself raised (``reason`` names the exception): see :func:`probe`
    failed: bool = False


def probe(backend: Backend) -> Availability:
    """``backend.probe()``, with an exception turned into "unavailable": a
    vendor's probe must not take loading or listing down.  Every caller in
    litert probes through this."""
    try:
        return backend.probe()
    except Exception as err:  # any failure of third-party code
        return Availability(False, f"probe failed: {type(err).__name__}: {err}", failed=True)


class DeviceTensor(ABC):
    """A tensor held by a backend.  Host (numpy) arrays need no wrapper.

    A backend whose memory is not the host's returns these from its
    partitions; the scheduler's boundary copies call :meth:`to_host` and the
    consumer backend's :meth:`Backend.from_host`.
    """

    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]: ...

    @property
    @abstractmethod
    def dtype(self) -> DType: ...

    @property
    @abstractmethod
    def device(self) -> str: ...

    @abstractmethod
    def to_host(self) -> np.ndarray:
        """Copy to a numpy array."""


class NodeHooks(Protocol):
    """Callbacks around each node, for profiling and debugging.

    A partition calls them only when hooks are passed to ``run``; the hot
    path without hooks pays nothing.
    """

    def before_node(self, node: Node, backend: str) -> None: ...

    def after_node(self, node: Node, backend: str, outputs: list[Any]) -> None: ...


class CompileContext:
    """Everything a backend gets when compiling a subgraph.

    One object, so that the contract can grow without changing signatures.
    """

    def __init__(self, threads: int = 1, opsets: Mapping[str, int] | None = None,
                 custom_kernels: Mapping[tuple[str, str], object] | None = None, precision: str = "fp32") -> None:
        self.threads = threads
        self.opsets: Mapping[str, int] = {} if opsets is None else opsets
        #: kernels other plugins registered for this backend: ``(domain, op) -> kernel``
        self.custom_kernels: Mapping[tuple[str, str], object] = {} if custom_kernels is None else custom_kernels
        #: the arithmetic the session asks for (:data:`litert.precision.PRECISIONS`); a backend that cannot
        #: honour it computes in float32 and says so in :attr:`CompiledPartition.precision`
        self.precision = precision

    def __repr__(self) -> str:
        return f"CompileContext(threads={self.threads}, precision={self.precision!r}, opsets={dict(self.opsets)!r})"


class CompiledPartition(ABC):
    """A subgraph compiled by a backend, ready to run many times."""

    #: what the partition computes in, as the user reads it: ``"fp32"``, or e.g. ``"bf16 (12 of 60 nodes)"``,
    #: or ``"fp32 (bf16 requested: ...why not)"``; set by the backend's ``compile``
    precision: str = "fp32"

    @abstractmethod
    def run(self, inputs: Mapping[str, Any], hooks: NodeHooks | None = None) -> dict[str, Any]:
        """Run with ``inputs`` (value name -> array or DeviceTensor) and
        return the subgraph's outputs by name."""

    def memory_plan(self) -> MemoryPlan | None:
        """The plan of the activation arena this partition really allocates, when one arena holds every
        value it computes (a partition compiled into one native program).  The session reports it as the
        partition's plan instead of planning the partition's graph a second time; None: the session plans
        the graph (:func:`litert.memory.plan`)."""
        return None

    def prepare(self, subgraph: Graph) -> bool:
        """The model's input shapes changed (``Session.resize``): ``subgraph``
        holds the same nodes, with the new shapes inferred.  Return True when
        this partition runs them as it is (having redone whatever depended on
        shapes), False to be compiled anew (the default)."""
        return False


class Backend(ABC):
    """A hardware backend.  Subclass it in a plugin and register an instance."""

    #: device name users pass (``devices=["ascend"]``), unique
    name: str = ""
    #: higher runs first when a user gives no device order; CPU is lowest
    priority: int = 0
    #: distribution that ships it (filled by the plugin manager when empty)
    distribution: str = ""
    #: input dtypes it takes (``"float32"``, ...), checked by the default :meth:`check_node`; None: any
    supported_dtypes: frozenset[str] | None = None

    @abstractmethod
    def probe(self) -> Availability:
        """Tell, cheaply and honestly, whether the device and its runtime exist."""

    def details(self) -> str:
        """More about the device for ``litert list-backends`` than :meth:`probe` says: what is costly to find
        out (a library scan...) and no load needs.  Empty by default."""
        return ""

    @abstractmethod
    def supported_ops(self) -> set[tuple[str, str]]:
        """The ``(domain, op_type)`` pairs this backend implements."""

    def supports_op(self, domain: str, op_type: str) -> bool:
        """Whether ``(domain, op_type)`` is in :meth:`supported_ops` (asked per node: a backend whose
        table is a dict may answer without building the set)."""
        return (domain, op_type) in self.supported_ops()

    def check_node(self, node: Node, graph: Graph) -> str | None:
        """``None`` when this backend can run ``node``, else the reason it refuses
        (name the op, dtype, attribute or shape at fault)."""
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        if not self.supports_op(domain, node.op_type):
            return f"op {node.qualified_op} not supported"
        if self.supported_dtypes is not None:
            for name in node.inputs:
                value = graph.values.get(name) if name else None
                if value is not None and value.dtype is not None and str(value.dtype) not in self.supported_dtypes:
                    return f"dtype {value.dtype} of input {name!r} not supported"
        return None

    def decline_partitions(self, subgraphs: list[Graph]) -> dict[int, str]:
        """Give up some of the partitions placed on this backend, as a whole:
        ``{index in subgraphs: reason}`` (empty: keep them all).  TFLite's
        delegates do this with ``min_nodes_per_partition`` and
        ``max_delegated_partitions``: a tiny partition costs more in copies than
        it saves.  The declined nodes go to the next backend that accepts them
        and the reason shows in their placement."""
        return {}

    @abstractmethod
    def compile(self, subgraph: Graph, ctx: CompileContext) -> CompiledPartition:
        """Compile a subgraph whose nodes this backend accepted."""

    def from_host(self, array: np.ndarray) -> Any:
        """Move a host array onto this backend's device (identity for host memory)."""
        return array

    def evaluator(self) -> Evaluator | None:
        """Optional: evaluate one node on host arrays (used for constant folding)."""
        return None


class ProbeOnlyBackend(Backend):
    """A device backend whose execution is not implemented yet.

    It probes for its runtime library and device (so ``list-backends`` says
    what is missing) and names the default-domain operators it will map, but
    it never reports itself available, so the scheduler offers it no node; a
    direct :meth:`compile` is refused with the probe's reason.
    """

    #: the ONNX (default-domain) operator types the backend will map
    operator_types: frozenset[str] = frozenset()
    #: the runtime's shared libraries (the first found is the runtime) and the environment variables naming
    #: where its toolkit is installed (see :func:`litert.probe.find_library`)
    runtime_libraries: tuple[str, ...] = ()
    runtime_env: tuple[str, ...] = ()
    #: the probe's reason when no runtime library is found
    runtime_missing: str = ""

    def probe(self) -> Availability:
        from .probe import find_library

        library = find_library(self.runtime_libraries, self.runtime_env)
        if library is None:
            return Availability(False, self.runtime_missing)
        return self.probe_with(library)

    def probe_with(self, library: Path) -> Availability:
        """The availability once the runtime ``library`` is found (a device check, what is not implemented)."""
        raise NotImplementedError

    def supported_ops(self) -> set[tuple[str, str]]:
        return {("", op) for op in self.operator_types}

    def compile(self, subgraph: Graph, ctx: CompileContext) -> CompiledPartition:
        raise BackendUnavailableError(f"{self.name}: {self.probe().reason}")
