"""A loaded model, ready to run: the object ``litert.load`` returns."""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..backend import HOST, Backend, CompileContext, CompiledPartition, NodeHooks, probe
from ..errors import BackendUnavailableError, ExecutionError, InputError, InvalidModelError, PluginError, typed_errors
from ..ir import DType, Model, Shape
from ..limits import check_bytes, check_deadline, time_limit
from ..logs import INFO, WARNING, Log
from ..memory import MemoryPlan, plan, specialize
from ..passes import PassResult
from ..plugins import host
from ..precision import check_precision
from ..scheduler import NodePlacement, Partition, Schedule, schedule
from ..schema.inference import infer_shapes
from .layouts import check_layout, layout_mismatch, to_input_layout
from .locks import SharedExclusiveLock

log = Log("litert")


class TensorInfo(NamedTuple):
    """Name, shape (ints, symbolic names or None) and dtype of a model input or output."""

    name: str
    shape: Shape | None
    dtype: DType | None

    def __str__(self) -> str:
        dims = "?" if self.shape is None else "x".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.dtype} [{dims}]"


def resolve_backends(devices: Sequence[str] | None, cpu_fallback: bool = True) -> tuple[list[Backend], dict[str, str]]:
    """Backends in the order to ask them, and why each skipped one is unusable."""
    table = host().backends
    notes: dict[str, str] = {}
    if devices is None:
        chosen = sorted(table.values(), key=lambda b: -b.priority)
    else:
        chosen = [host().backend(name) for name in devices]
    usable = []
    for backend in chosen:
        status = probe(backend)
        if status.available:
            usable.append(backend)
        elif devices is not None and not cpu_fallback:
            raise BackendUnavailableError(f"backend {backend.name!r} is unavailable: {status.reason}")
        else:
            notes[backend.name] = f"unavailable: {status.reason}"
    if cpu_fallback and not any(b.name == HOST for b in usable):
        if HOST not in table:
            raise PluginError("the CPU backend (litert-cpu) is not installed or failed to load")
        usable.append(table[HOST])
    if not usable:
        raise PluginError("no usable backend")
    return usable, notes


class Session:
    """A model compiled for a set of backends.  Use :func:`litert.load`."""

    def __init__(
        self,
        model: Model,
        devices: Sequence[str] | None = None,
        threads: int | None = None,
        optimize_level: str = "general",
        cpu_fallback: bool = True,
        precision: str = "fp32",
    ):
        self.model = model
        self.threads = threads or 1
        #: the arithmetic asked for (:mod:`litert.precision`); :attr:`precision` says what is used
        self.requested_precision = check_precision(precision)
        #: runs share it, a resize takes it alone: a resize rebuilds what a running predict reads
        self._lock = SharedExclusiveLock()
        self.timings: dict[str, float] = {}
        self.pass_results: list[PassResult] = []
        t0 = time.perf_counter()
        self.backends, self.backend_notes = resolve_backends(devices, cpu_fallback)
        if devices is not None:  # fallback is never silent: a device asked for by name and absent is a warning
            for name, why in self.backend_notes.items():
                log.warning("litert: backend %r was requested but is %s; falling back to %s", name, why,
                            ", ".join(b.name for b in self.backends))
        from ..convert import optimize_model  # convert reads models through this package

        with typed_errors(InvalidModelError, "optimising the model failed"):
            self.pass_results = optimize_model(model, optimize_level)
        # weights the passes left as views of the model file are copied now, before any kernel holds them
        model.detach_file()
        t1 = time.perf_counter()
        self.timings["optimize"] = t1 - t0
        with typed_errors(InvalidModelError, "compiling the model failed"):
            self._compile()

    # -- building -------------------------------------------------------------

    def _compile(self, previous: list[tuple[Partition, Backend, CompiledPartition]] | None = None) -> None:
        """Schedule and compile; after a resize, a partition whose nodes and backend are
        unchanged is asked to :meth:`~CompiledPartition.prepare` for the new shapes first."""
        t0 = time.perf_counter()
        infer_shapes(self.model.graph)
        t1 = time.perf_counter()
        self.schedule: Schedule = schedule(self.model.graph, self.backends)
        if self.backend_notes:
            for placement in self.schedule.placements:  # every backend's word on every node
                placement.refused = {**self.backend_notes, **placement.refused}
        t2 = time.perf_counter()
        #: per partition, the inputs the scheduler found on another device
        self._copy_in = {p.index: {c.value for c in self.schedule.copies if c.partition == p.index}
                         for p in self.schedule.partitions}
        by_name = {b.name: b for b in self.backends}
        self._compiled: list[tuple[Partition, Backend, CompiledPartition]] = []
        same = previous is not None and len(previous) == len(self.schedule.partitions) and all(
            old.backend == new.backend and [id(n) for n in old.graph.nodes] == [id(n) for n in new.graph.nodes]
            for (old, _, _), new in zip(previous, self.schedule.partitions))
        #: partitions compiled anew by the last (re)compilation, by index
        self.recompiled: list[int] = []
        for number, part in enumerate(self.schedule.partitions):
            backend = by_name[part.backend]
            if same and previous is not None:
                kept = previous[number][2]
                with typed_errors(InvalidModelError, f"backend {backend.name!r} cannot prepare partition {part.index}"):
                    if kept.prepare(part.graph):
                        self._compiled.append((part, backend, kept))
                        continue
            self.recompiled.append(part.index)
            ctx = CompileContext(
                threads=self.threads,
                opsets=self.model.opsets,
                precision=self.requested_precision,
                custom_kernels=host().kernels.get(backend.name, {}),
            )
            with typed_errors(InvalidModelError, f"backend {backend.name!r} cannot compile partition {part.index}"):
                self._compiled.append((part, backend, backend.compile(part.graph, ctx)))
        t3 = time.perf_counter()
        self._plans: dict[tuple[Any, ...], MemoryPlan] = {}
        self.memory_plan: MemoryPlan = self._plan_for({})
        self._static_inputs = self._static_input_specs()
        self.timings.update(shape_inference=t1 - t0, schedule=t2 - t1, compile=t3 - t2,
                            memory_plan=time.perf_counter() - t3)
        # fallback is never silent: when a non-CPU backend left nodes to others, say so
        fell_back = any(p.refused for p in self.schedule.placements) and len(self.backends) > 1
        level = WARNING if fell_back else INFO
        if log.enabled(level):
            for line in self.summary_lines():
                log.log(level, line)
        if self.requested_precision != "fp32" and not any(
                compiled.precision.startswith(self.requested_precision) for _, _, compiled in self._compiled):
            log.warning("litert: precision %s requested, computing in %s", self.requested_precision, self.precision)

    @property
    def precision(self) -> str:
        """The arithmetic the compiled partitions compute in, as each backend reports it
        (``"fp32"``, ``"bf16 (40 of 53 nodes)"``, ``"fp32 (bf16 requested: ...)"``)."""
        reports = {f"{backend.name}: {compiled.precision}" if len(self._compiled) > 1 else compiled.precision
                   for _, backend, compiled in self._compiled}
        return "; ".join(sorted(reports)) or "fp32"

    def _plan_for(self, bindings: dict[str, int]) -> MemoryPlan:
        """The arena plan for one binding of the symbolic dims (cached)."""
        key = tuple(sorted(bindings.items()))
        if key not in self._plans:
            planned = MemoryPlan()
            for part, _, compiled in self._compiled:
                # a partition that laid out its own arena says so: the plan it runs is the one reported
                own = None if bindings else compiled.memory_plan()
                planned = planned + (own if own is not None else
                                     plan(specialize(part.graph, bindings) if bindings else part.graph))
            shapes = ", ".join(f"{k}={v}" for k, v in key)
            check_bytes(planned.peak_bytes, "the activation arena" + (f" for {shapes}" if shapes else ""))
            self._plans[key] = planned
        return self._plans[key]

    def resize(self, shapes: Mapping[str, Sequence[int]]) -> None:
        """Give inputs new shapes (e.g. another batch size) and re-plan.

        Thread-safe: waits for running ``predict`` calls and blocks new ones until done."""
        with self._lock.exclusive():
            self._resize(shapes)

    def _resize(self, shapes: Mapping[str, Sequence[int]]) -> None:
        graph = self.model.graph
        for name, shape in shapes.items():
            if name not in graph.inputs:
                raise InputError(f"resize: model has no input {name!r} (inputs: {', '.join(graph.inputs)})")
            old = graph.values[name].shape
            if old is not None and len(old) != len(shape):
                raise InputError(f"resize: input {name!r} has rank {len(old)}, got shape {tuple(shape)}")
            mismatch = None if old is None else layout_mismatch(name, old, graph.values[name].layout, tuple(shape),
                                                                 resizing=True)
            if mismatch:
                raise InputError(f"resize: {mismatch}")
            graph.values[name].shape = tuple(int(d) for d in shape)
        for value in graph.values.values():
            if not value.is_const and value.name not in graph.inputs:
                value.shape = None
        with typed_errors(InvalidModelError, "compiling the model for the new shapes failed"):
            self._compile(previous=self._compiled)

    # -- introspection --------------------------------------------------------

    @property
    def inputs(self) -> list[TensorInfo]:
        values = self.model.graph.values
        return [TensorInfo(n, values[n].shape, values[n].dtype) for n in self.model.graph.inputs]

    @property
    def outputs(self) -> list[TensorInfo]:
        values = self.model.graph.values
        return [TensorInfo(n, values[n].shape, values[n].dtype) for n in self.model.graph.outputs]

    @property
    def placement(self) -> list[NodePlacement]:
        return self.schedule.placements

    def summary_lines(self) -> list[str]:
        skipped = [f"{name}: 0/{len(self.schedule.placements)} nodes, {why}" for name, why in self.backend_notes.items()]
        return skipped + self.schedule.summary_lines([b.name for b in self.backends])

    # -- running --------------------------------------------------------------

    def _static_input_specs(self) -> list[tuple[str, np.dtype, tuple[int, ...]]] | None:
        """(name, dtype, shape) of every input when all are tensors of fixed shape and numeric type: what a
        dict of exactly such arrays is checked against at once (the usual predict), else None."""
        specs = []
        for name in self.model.graph.inputs:
            value = self.model.graph.values[name]
            dims = tuple(d for d in value.shape or () if isinstance(d, int))
            if value.kind != "tensor" or value.dtype is None or value.dtype is DType.STRING or value.shape is None or \
                    len(dims) != len(value.shape):
                return None
            specs.append((name, value.dtype.numpy, dims))
        return specs

    def _check_inputs(self, inputs: Sequence[Any] | Mapping[str, Any],
                      layout: str | None = None) -> dict[str, np.ndarray]:
        static = self._static_inputs
        if static is not None and layout is None and type(inputs) is dict and len(inputs) == len(static):
            # the common call: numpy arrays of exactly the declared types and shapes, by name
            given = {}
            for name, dtype, shape in static:
                array = inputs.get(name)
                if type(array) is not np.ndarray or array.dtype != dtype or array.shape != shape:
                    break
                given[name] = array
            else:
                return given
        names = self.model.graph.inputs
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
            raise InputError(f"inputs are a dict of input name -> array or a list of arrays in input order "
                             f"({', '.join(names)}), got {type(inputs).__name__}")
        if isinstance(inputs, Mapping):
            unknown = set(inputs) - set(names)
            if unknown:
                raise InputError(f"unknown input {sorted(unknown)[0]!r} (model inputs: {', '.join(names)})")
            missing = [n for n in names if n not in inputs]
            if missing:
                raise InputError(f"missing input {missing[0]!r} (model inputs: {', '.join(names)})")
            given = {n: inputs[n] for n in names}
        else:
            inputs = list(inputs)
            if len(inputs) != len(names):
                raise InputError(f"model takes {len(names)} input(s) ({', '.join(names)}), got {len(inputs)}")
            given = dict(zip(names, inputs))
        bound: dict[str, int] = {}
        for name, array in given.items():
            value = self.model.graph.values[name]
            if value.kind != "tensor":
                continue
            if not isinstance(array, np.ndarray):
                try:
                    array = np.asarray(array)
                except (ValueError, TypeError) as err:  # ragged nesting, objects numpy cannot hold
                    raise InputError(f"input {name!r} cannot be read as an array: {err}") from None
            if layout is not None:
                array = to_input_layout(array, layout, value.layout)
            given[name] = array
            if value.dtype is not None and value.dtype is not DType.STRING and array.dtype != value.dtype.numpy:
                raise InputError(f"input {name!r}: expected dtype {value.dtype}, got {array.dtype}")
            if value.shape is None:
                continue
            if array.ndim != len(value.shape):
                raise InputError(f"input {name!r}: expected rank {len(value.shape)} {_fmt(value.shape)}, got shape {array.shape}")
            for axis, (want, got) in enumerate(zip(value.shape, array.shape)):
                if isinstance(want, int) and want != got:
                    raise InputError(layout_mismatch(name, value.shape, value.layout, array.shape) or
                                     f"input {name!r}: dimension {axis} must be {want}, got shape {array.shape} "
                                     "(use resize)")
                if isinstance(want, str) and bound.setdefault(want, got) != got:
                    raise InputError(f"input {name!r}: dimension {want!r} is {bound[want]} elsewhere, got {got}")
        if bound and not self.memory_plan.complete:
            self.memory_plan = self._plan_for(bound)  # the plan for the shapes being run
        return given

    def predict(self, inputs: Sequence[Any] | Mapping[str, Any], hooks: NodeHooks | None = None,
                timeout: float | None = None, layout: str | None = None) -> list[np.ndarray]:
        """Run once; outputs as a list in the model's output order.

        :param timeout: seconds; a run still going after that (a Loop the file
            says to repeat 2^56 times) stops with :class:`~litert.errors.ResourceLimitError`
            (or an :class:`~litert.errors.ExecutionError` naming the node).
        :param layout: ``"NCHW"`` or ``"NHWC"``, the layout of the 4-D arrays given, when it is not
            the model's: a ``.ms`` converted with MindSpore Lite's defaults takes NHWC images, and
            ``layout="NCHW"`` transposes NCHW ones for it (see :func:`to_input_layout`).
        Calls on one session from several threads run at the same time (each on its own
        buffers); a :meth:`resize` waits for them."""
        if layout is not None:
            layout = check_layout(layout)
        with self._lock.shared(), time_limit(timeout), typed_errors(ExecutionError, "the run failed"):
            return self._predict(inputs, hooks, layout)

    def _predict(self, inputs: Sequence[Any] | Mapping[str, Any], hooks: NodeHooks | None,
                 layout: str | None = None) -> list[np.ndarray]:
        env: dict[str, Any] = dict(self._check_inputs(inputs, layout))
        for part, backend, compiled in self._compiled:
            feed = {}
            copy_in = self._copy_in[part.index]
            for name in part.graph.inputs:
                value = env[name]
                if name in copy_in:
                    value = _to_host(value)
                    value = backend.from_host(value) if backend.name != HOST else value
                feed[name] = value
            check_deadline(f"partition {part.index} ({backend.name})")
            env.update(compiled.run(feed, hooks))
        values = self.model.graph.values
        return [_to_host(env[name]) if name in env else values[name].array for name in self.model.graph.outputs]

    def run(self, inputs: Sequence[Any] | Mapping[str, Any], hooks: NodeHooks | None = None,
            timeout: float | None = None, layout: str | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`predict`, keyed by output name."""
        return dict(zip(self.model.graph.outputs, self.predict(inputs, hooks, timeout, layout)))


def _to_host(value: Any) -> Any:
    to_host = getattr(value, "to_host", None)
    return to_host() if to_host is not None else value


def _fmt(shape: Shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
