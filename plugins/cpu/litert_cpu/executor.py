"""Compile a subgraph into a flat list of kernel calls, and run it.

Compilation happens once per partition.  First, runs of consecutive nodes
that the compiled kernel library covers become native segments
(:mod:`litert_cpu.native`): one static program each, run in one call with the
GIL released.  Every other node becomes a kernel object
(attributes parsed, weights pre-packed) and every value a slot index, so a
run is one loop over pre-built steps with no graph walking and no dict
lookups.  A slot is released right after its last reader, which lets numpy's
allocator reuse the memory (liveness-based reuse).

Two rewrites happen at compile time, inside the partition only (the graph is
not changed):

* activation folding: an activation (Relu, Clip, ...) whose input is read by
  nothing else and comes from an op with a freshly allocated output
  (:data:`FRESH_OUTPUT`: BatchNormalization, Add, Concat, ...) is applied in
  place to that output, and its step disappears;
* input donation: a kernel that can write its result over an input (its
  ``inplace`` positions: elementwise ops) is handed that input as ``out=``
  when the input dies at this step and nothing else holds it: the array is
  not a view, owns its memory, and the executor's slot is its only
  reference (checked with ``sys.getrefcount`` at run time, so graph inputs,
  constants, values aliased by view-returning ops and arrays a hook kept are
  never overwritten).
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from litert.activations import fusable
from litert.backend import CompileContext, CompiledPartition, NodeHooks
from litert.errors import ExecutionError, UnsupportedOperatorError
from litert.ir import Graph, Node
from litert.memory import MemoryPlan, specialize

from .kernels._base import Kernel, KernelContext
from .kernels._registry import KERNELS
from .kernels.nn._common import ACTIVATIONS
from .native import module as native_module
from .native.plan import plan_partition
from .native.segment import NativeSegment
from .threads import limit

#: ops whose first output is always a new array the kernel keeps no reference
#: to, so an activation may be applied to it in place (a result that turns out
#: to be an input, e.g. a one-input Concat, is copied first)
FRESH_OUTPUT = frozenset({
    ("", "BatchNormalization"), ("", "Add"), ("", "Sub"), ("", "Mul"), ("", "Div"), ("", "Sum"),
    ("", "Concat"), ("", "MatMul"), ("", "Gemm"), ("", "MaxPool"), ("", "AveragePool"),
    ("", "GlobalAveragePool"), ("", "Conv"),
})
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
class _Step:
    """One step of a compiled partition.  A plain class with slots, not a dataclass: every process's first load
    defines it, and a dataclass took ~0.45 ms to define (its generated methods are compiled then)."""

    __slots__ = ("node", "kernel", "inputs", "outputs", "release", "donate", "post", "folded", "segment")

    def __init__(self, node: Node, kernel: Kernel | None, inputs: tuple[int, ...], outputs: tuple[int, ...],
                 release: tuple[int, ...], donate: tuple[int, ...] = (), post: Callable | None = None,
                 folded: Node | None = None, segment: NativeSegment | None = None):
        self.node = node
        self.kernel = kernel  # None for a native segment
        self.inputs = inputs  # slot per input, -1 for an omitted input
        self.outputs = outputs  # slot per output, -1 for an unused output
        self.release = release  # slots whose last reader is this step
        self.donate = donate  # input positions offered as ``out=`` when they die here
        self.post = post  # a folded activation, applied in place to output 0
        self.folded = folded  # the activation node that ``post`` stands for
        self.segment = segment  # a native segment (``kernel`` is None then)

    def __repr__(self) -> str:
        return f"_Step({self.node.name or self.node.op_type!r}, inputs={self.inputs}, outputs={self.outputs})"


class CpuPartition(CompiledPartition):
    """A subgraph compiled for the CPU backend."""

    def __init__(self, graph: Graph, ctx: CompileContext, outer: tuple[str, ...] = (), native: bool = True,
                 fuse: bool = True):
        self.graph = graph
        self.ctx = ctx
        self._outer_names = outer
        self._fuse = fuse
        #: the same partition without fused activations, built when node hooks first ask
        self._observable: CpuPartition | None = None
        #: per node left to numpy, why the native kernels declined it
        self.native_declined: dict[str, str] = {}
        #: symbolic input dims: the native kernels need static shapes, so each
        #: binding of the symbols gets a partition of its own, compiled on first use
        self._symbolic = native and native_module() is not None and not outer and any(
            isinstance(d, str) for n in graph.inputs for d in graph.values[n].shape or ())
        self._specialized: OrderedDict[tuple, CpuPartition] = OrderedDict()
        self._specialized_lock = threading.Lock()
        if self._symbolic:
            native = False  # this partition runs what no binding covers
        self._slots: dict[str, int] = {}
        self._template: list[Any] = []
        self._local = threading.local()  # per-thread env stack, for control-flow bodies
        self._subgraphs: dict[int, CpuPartition] = {}
        for name in (*graph.inputs, *outer):
            self._slot(name)
        for name, value in graph.values.items():
            if value.is_const:
                self._template[self._slot(name)] = value.const
        self._steps = self._fold_activations(self._compile_items(native, outer))
        self.precision = self._precision_used()
        self._inputs = [(self._slots[n], n) for n in graph.inputs]
        self._outer = [(self._slots[n], n) for n in outer]
        self._outputs = [(self._slots[n], n) for n in graph.outputs]
        self._plan_release()

    # -- compilation ----------------------------------------------------------

    def _slot(self, name: str) -> int:
        if name not in self._slots:
            self._slots[name] = len(self._template)
            self._template.append(None)
        return self._slots[name]

    def _compile_items(self, native: bool, outer: tuple[str, ...]) -> list[_Step]:
        if not native or native_module() is None:
            return [self._compile_node(node) for node in self.graph.nodes]
        items, self.native_declined = plan_partition(self.graph, dict(self.ctx.opsets), self.ctx.threads, outer, self._fuse,
                                                     self.ctx.precision)
        return [self._compile_segment(item) if isinstance(item, NativeSegment) else self._compile_node(item)
                for item in items]

    def _compile_segment(self, segment: NativeSegment) -> _Step:
        first, last = segment.nodes[0], segment.nodes[-1]
        node = Node("NativeSegment", list(segment.input_names), list(segment.output_names),
                    name=f"native[{first.name}..{last.name}]", domain="litert")
        return _Step(node, None, tuple(self._slot(n) for n in segment.input_names),
                     tuple(self._slot(n) for n in segment.output_names), (), segment=segment)

    def _precision_used(self) -> str:
        """What this partition computes in, for :attr:`CompiledPartition.precision`: bf16 where the
        library lowered a node to a bf16 step, else float32 with the reason."""
        asked = self.ctx.precision
        if asked == "fp32":
            return "fp32"
        native = native_module()
        if asked == "bf16" and native is not None and native.bf16_available():
            if self._symbolic:
                return "bf16 (Conv, MatMul, Gemm, per input-shape binding; the rest fp32)"
            count = sum(segment.bf16_nodes for segment in self.native_segments)
            if count:
                return f"bf16 ({count} of {len(self.graph.nodes)} nodes: Conv, MatMul, Gemm; the rest fp32)"
            why = "no node here has a bf16 kernel (Conv, MatMul, Gemm)"
        elif asked == "bf16":
            why = "this CPU has no AVX512_BF16" if native is not None else "the native kernels are not built"
        else:
            why = "the CPU backend has no fp16 kernels"
        return f"fp32 ({asked} requested: {why})"

    @property
    def native_segments(self) -> list[NativeSegment]:
        return [s.segment for s in self._steps if s.segment is not None]

    def memory_plan(self) -> MemoryPlan | None:
        """The native program's arena plan when the whole partition is one segment (numpy kernels allocate
        their own arrays, so a partition with any has no single arena to report)."""
        if len(self._steps) == 1 and self._steps[0].segment is not None:
            return self._steps[0].segment.arena_plan
        return None

    def _compile_node(self, node: Node) -> _Step:
        values = self.graph.values
        consts = [values[n].const if n in values else None for n in node.inputs]
        shapes = [values[n].shape if n in values else None for n in node.inputs]
        dtypes = [v.dtype.numpy if (v := values.get(n)) is not None and v.dtype is not None else None for n in node.inputs]
        kctx = KernelContext(
            op_type=node.op_type,
            domain=node.domain,
            opset=self.ctx.opsets.get(node.domain, 0),
            consts=consts,
            input_shapes=shapes,
            input_dtypes=dtypes,
            num_outputs=len(node.outputs),
            node_name=node.name,
            run_subgraph=self._run_subgraph,
        )
        cls: Any = self.ctx.custom_kernels.get((node.domain, node.op_type)) or KERNELS.get((node.domain, node.op_type))
        if cls is None:
            raise UnsupportedOperatorError(
                f"node {node.name!r}: no CPU kernel for {node.qualified_op}",
                node=node.name, op_type=node.op_type, domain=node.domain,
            )
        try:
            kernel = cls(node.attrs, kctx)
        except Exception as err:
            raise ExecutionError(f"node {node.name!r} ({node.qualified_op}): cannot prepare kernel: {err}") from err
        for sub in node.subgraphs():
            self._subgraph_partition(sub)
        return _Step(
            node,
            kernel,
            tuple(self._slot(n) if n else -1 for n in node.inputs),
            tuple(self._slot(n) if n else -1 for n in node.outputs),
            (),
        )

    def _fold_activations(self, steps: list[_Step]) -> list[_Step]:
        """Drop activation steps that can run in place on their producer's output."""
        readers: dict[int, int] = {}
        for step in steps:
            for slot in set(step.inputs):
                if slot >= 0:
                    readers[slot] = readers.get(slot, 0) + 1
            for sub in step.node.subgraphs():
                for name in sub.outer_references():
                    if name in self._slots:
                        readers[self._slots[name]] = readers.get(self._slots[name], 0) + 2
        producer = {s.outputs[0]: s for s in steps if s.outputs and s.outputs[0] >= 0}
        kept_outputs = set(self.graph.outputs)
        out: list[_Step] = []
        for step in steps:
            node = step.node
            fold = fusable(node)
            src = step.inputs[0] if step.inputs else -1
            prev = producer.get(src)
            value = self.graph.values.get(node.inputs[0]) if node.inputs else None
            is_float = value is not None and value.dtype is not None and value.dtype.numpy in _FLOATS
            if fold is not None and is_float and prev is not None and prev.segment is None and prev.post is None \
                    and readers.get(src) == 1 \
                    and (prev.node.domain, prev.node.op_type) in FRESH_OUTPUT \
                    and node.inputs[0] not in kept_outputs and len(step.outputs) == 1:
                params = fold.params_of(node, self._constant)
                if params is not None:
                    fn = ACTIVATIONS[node.op_type]
                    prev.post = lambda x, fn=fn, params=params: fn(x, params)
                    prev.folded = node
                    prev.outputs = (step.outputs[0],) + prev.outputs[1:]
                    producer[step.outputs[0]] = prev
                    continue
            out.append(step)
        return out

    def _constant(self, name: str) -> np.ndarray | None:
        value = self.graph.values.get(name)
        return value.const if value is not None else None

    def _plan_release(self) -> None:
        keep = {s for s, _ in self._outputs} | {i for i, v in enumerate(self._template) if v is not None}
        last_use: dict[int, int] = {}
        for index, step in enumerate(self._steps):
            for slot in step.inputs:
                if slot >= 0:
                    last_use[slot] = index
            for sub in step.node.subgraphs():
                for name in sub.outer_references():
                    if name in self._slots:
                        last_use[self._slots[name]] = index
            for slot in step.outputs:  # an unread output dies where it is made
                last_use.setdefault(slot, index)
        by_step: dict[int, list[int]] = {}
        for slot, index in last_use.items():
            if slot >= 0 and slot not in keep:
                by_step.setdefault(index, []).append(slot)
        for index, step in enumerate(self._steps):
            step.release = tuple(by_step.get(index, ()))
            dying = set(step.release)
            step.donate = tuple(p for p in getattr(step.kernel, "inplace", ()) if p < len(step.inputs)
                                and step.inputs[p] in dying)

    # -- control flow ---------------------------------------------------------

    def _subgraph_partition(self, sub: Graph) -> CpuPartition:
        key = id(sub)
        if key not in self._subgraphs:
            outer = tuple(sorted(sub.outer_references()))
            self._subgraphs[key] = CpuPartition(sub, self.ctx, outer)
        return self._subgraphs[key]

    def _run_subgraph(self, sub: Graph, inputs: list[Any]) -> list[Any]:
        part = self._subgraph_partition(sub)
        env, hooks = self._local.scopes[-1]
        outer = {name: env[self._slots[name]] for _, name in part._outer}
        return part._execute(list(inputs), outer, hooks)

    # -- running --------------------------------------------------------------

    #: shape bindings kept compiled per partition (least recently used dropped)
    SPECIALIZED_CACHE = 4

    def _for_binding(self, inputs: Mapping[str, Any]) -> CpuPartition | None:
        """The partition compiled for these inputs' values of the symbolic dims."""
        bindings: dict[str, int] = {}
        for name in self.graph.inputs:
            shape = self.graph.values[name].shape
            array = inputs[name]
            if shape is None or not hasattr(array, "shape") or len(array.shape) != len(shape):
                return None
            for want, got in zip(shape, array.shape):
                if isinstance(want, str) and bindings.setdefault(want, int(got)) != int(got):
                    return None
        key = tuple(sorted(bindings.items()))
        with self._specialized_lock:
            part = self._specialized.get(key)
            if part is not None:
                self._specialized.move_to_end(key)
                return part
        part = CpuPartition(specialize(self.graph, bindings), self.ctx)  # compiled outside the lock
        with self._specialized_lock:
            self._specialized[key] = part
            while len(self._specialized) > self.SPECIALIZED_CACHE:
                self._specialized.popitem(last=False)
        return part

    def run(self, inputs: Mapping[str, Any], hooks: NodeHooks | None = None) -> dict[str, Any]:
        if self._symbolic:
            part = self._for_binding(inputs)
            if part is not None:
                return part.run(inputs, hooks)
        if hooks is not None and any(s.hides_values for s in self.native_segments):
            # node hooks see every node's own output: run the variant without fused activations
            if self._observable is None:
                self._observable = CpuPartition(self.graph, self.ctx, self._outer_names, fuse=False)
            return self._observable.run(inputs, hooks)
        ordered = [inputs[name] for _, name in self._inputs]
        if all(step.segment is not None for step in self._steps):
            # all native: the library's pool does the threading, numpy and BLAS are not involved
            results = self._execute(ordered, {}, hooks)
        else:
            with limit(self.ctx.threads):
                results = self._execute(ordered, {}, hooks)
        return dict(zip((n for _, n in self._outputs), results))

    def _execute(self, inputs: list[Any], outer: Mapping[str, Any], hooks: NodeHooks | None) -> list[Any]:
        env = list(self._template)
        for (slot, _), value in zip(self._inputs, inputs):
            env[slot] = value
        for slot, name in self._outer:
            env[slot] = outer[name]
        scopes = getattr(self._local, "scopes", None)
        if scopes is None:
            scopes = self._local.scopes = []
        scopes.append((env, hooks))
        try:
            results: Any
            args: Any
            for step in self._steps:
                donor = None
                for pos in step.donate:
                    v = env[step.inputs[pos]]
                    # references: env, v, getrefcount's argument
                    if type(v) is np.ndarray and v.base is None and v.flags.writeable and sys.getrefcount(v) == 3:
                        donor = v
                        break
                    v = None
                args = [env[s] if s >= 0 else None for s in step.inputs]
                if step.segment is not None:
                    results = step.segment.run(args, hooks)
                    for slot, value in zip(step.outputs, results):
                        env[slot] = value
                    for slot in step.release:
                        env[slot] = None
                    results = args = value = None
                    continue
                kernel = step.kernel
                assert kernel is not None  # only native segments have none
                if hooks is not None:
                    hooks.before_node(step.node, "cpu")
                try:
                    if donor is not None:
                        results = kernel.run(*args, out=donor)  # type: ignore[call-arg]  # donating kernels take out=
                        donor = None
                    else:
                        results = kernel.run(*args)
                except Exception as err:
                    raise ExecutionError(
                        f"node {step.node.name!r} ({step.node.qualified_op}) failed: {type(err).__name__}: {err}"
                    ) from err
                if hooks is not None:
                    hooks.after_node(step.node, "cpu", [r if o >= 0 else None for o, r in zip(step.outputs, results)])
                if step.post is not None:
                    if hooks is not None and step.folded is not None:
                        hooks.before_node(step.folded, "cpu")
                    results = (self._activate(step, results), *results[1:])
                    if hooks is not None and step.folded is not None:
                        hooks.after_node(step.folded, "cpu", [results[0]])
                for slot, value in zip(step.outputs, results):
                    if slot >= 0:
                        env[slot] = value
                for slot in step.release:
                    env[slot] = None
                results = args = value = None  # so that env holds the only reference (donation check)
        finally:
            scopes.pop()
        return [env[slot] for slot, _ in self._outputs]

    @staticmethod
    def _activate(step: _Step, results):
        """Apply a folded activation to output 0, in place when that array
        is nobody else's (not a view, not an input, not kept by a hook)."""
        r = results[0]
        # references to a private result: the results tuple, r, getrefcount's argument
        if type(r) is not np.ndarray or r.base is not None or not r.flags.writeable or sys.getrefcount(r) > 3:
            r = np.array(r, copy=True)
        if step.post is not None:
            with np.errstate(all="ignore"):
                step.post(r)
        return r


def evaluate_node(node: Node, inputs: list[np.ndarray | None], graph: Graph) -> list[np.ndarray]:
    """Run one node on host arrays (constant folding)."""
    sub = Graph(nodes=[node], inputs=[], outputs=[o for o in node.outputs if o], name="fold")
    for name, array in zip(node.inputs, inputs):
        if name:
            value = graph.values[name]
            sub.values[name] = type(value)(name, value.dtype, value.shape, const=array)
    part = CpuPartition(sub, CompileContext(threads=1), native=False)  # folding keeps numpy's exact semantics
    result = part._execute([], {}, None)
    return result
