"""A run of consecutive nodes compiled into one native program.

The program's slots are the segment's tensors: constants (bound once),
the segment's inputs and outputs (bound per run: inputs as given, outputs as
fresh arrays the caller keeps) and everything else at fixed offsets in one
activation arena, laid out by litert's memory planner
(:func:`litert.memory.pack`) over the steps' live intervals.  Reshape-like
nodes cost nothing: their output is the same slot as their input (a copy
only when the result leaves the segment, so a returned array never aliases
another).

A run binds the buffers and makes one call into the library, which runs
every step with the GIL released on the library's thread pool.  Arenas come
from a free list, so concurrent runs of one model each get their own.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from litert.errors import ExecutionError
from litert.ir import Graph, Node
from litert.memory import Interval, MemoryPlan, align, pack

from . import GEMM_STEPS, load_blas, module, pool
from .buffers import aligned, aligned_empty
from .lowering import Lowered, Step

def segment_const(lowered: list[Lowered], graph: Graph) -> Callable[[str], np.ndarray | None]:
    """Looks up a constant a segment's steps read: one its lowerings made (packed weights, folded
    BatchNorm), else the graph's."""
    consts: dict[str, np.ndarray] = {}
    for low in lowered:
        consts.update(low.consts)
    values = graph.values

    def const(name: str) -> np.ndarray | None:
        if name in consts:
            return consts[name]
        value = values.get(name)
        return value.const if value is not None and value.is_const else None

    return const


def _concat_in_place(steps: list[tuple[int, Step]], root: dict[str, str], live_after: set[str],
                     const: Callable[[str], np.ndarray | None], nbytes: Callable[[str], int],
                     copy_kind: int) -> tuple[list[tuple[int, Step]], dict[str, tuple[str, int]]]:
    """Concat inputs written straight into their part of the output, instead of copied there: an input
    that one step of the segment makes (or that is itself a Concat's output), that is a contiguous block of
    the output (outer size 1, as a channel Concat of one image is) starting 64-byte aligned, and that neither
    leaves the segment nor is a view.  SqueezeNet's fire modules and Inception's branches then copy nothing,
    and neither do DenseNet's blocks, where each layer's Concat holds the one before it: the whole block
    lives in its last Concat's storage, each layer writing only its own channels (the copies were 3% of a
    DenseNet-121 run, and grew with the square of a block's depth).  Returns the steps without those copies
    and, per placed input, (the storage that finally holds it, byte offset): a Concat output placed in a
    later one passes its own placed inputs on."""
    writers: dict[str, int] = {}
    for _, st in steps:
        for name in st.writes:
            writers[name] = writers.get(name, 0) + (2 if st.kind == copy_kind else 1)
    views = set(root) | set(root.values())
    placed: dict[str, tuple[str, int]] = {}
    outputs: set[str] = set()  # Concat outputs with placed inputs
    kept: list[tuple[int, Step]] = []
    for index, st in steps:
        if st.kind == copy_kind and len(st.operands) == 2 and st.ints[0] == 1 and st.ints[2] == 0:
            src, y = st.operands
            if src and y and src not in placed and y not in placed \
                    and (writers.get(src) == 1 or src in outputs) and src not in views and y not in root \
                    and src not in live_after and y not in live_after and const(src) is None \
                    and nbytes(src) == st.ints[1] and st.ints[4] % 64 == 0:  # arena slots start 64-aligned
                placed[src] = (y, int(st.ints[4]))
                outputs.add(y)
                continue
        kept.append((index, st))

    def holder(name: str) -> tuple[str, int]:
        y, offset = placed[name]
        while y in placed:
            y, more = placed[y]
            offset += more
        return y, offset

    return kept, {src: holder(src) for src in placed}


class _Tensor:
    """An extern of the program (a plain class: every first load defines it, a NamedTuple took ~0.15 ms)."""

    __slots__ = ("name", "shape", "dtype")

    def __init__(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.name = name
        self.shape = shape
        self.dtype = dtype


class NativeSegment:
    def __init__(self, nodes: list[Node], lowered: list[Lowered], graph: Graph, live_after: set[str], threads: int,
                 hidden: frozenset[str] = frozenset(), channels_last: frozenset[str] = frozenset()):
        native = module()
        #: values whose storage holds a later value (an activation fused into their producer): hooks get None
        self._hidden = hidden
        #: 4-D values the arena holds NHWC (:mod:`.layout`): hooks get them as NCHW views
        self._channels_last = channels_last
        self.nodes = nodes
        values = graph.values
        const = segment_const(lowered, graph)

        metas: dict[str, tuple[tuple[int, ...], np.dtype]] = {}  # asked two to three times per value

        def meta(name: str) -> tuple[tuple[int, ...], np.dtype]:
            found = metas.get(name)
            if found is not None:
                return found
            c = const(name)
            if c is not None:
                found = tuple(c.shape), c.dtype
            else:
                v = values[name]
                found = tuple(map(int, v.shape)), v.dtype.numpy
            metas[name] = found
            return found

        def nbytes(name: str) -> int:
            shape, dtype = meta(name)
            return math.prod(shape) * dtype.itemsize

        # which name each name is a view of (Reshape & co.), and what the segment makes
        produced: list[str] = []
        root: dict[str, str] = {}
        steps: list[tuple[int, Step]] = []  # (node index, step), in run order
        for index, low in enumerate(lowered):
            if low.alias is not None:
                y, x = low.alias
                produced.append(y)
                base = root.get(x, x)
                if y in live_after:  # leaves the segment: a copy of its own, never a view
                    size = nbytes(y)
                    steps.append((index, Step(native.STEP_COPY, (base, y), (1, size, 0, size, 0, size), (), y)))
                else:
                    root[y] = base
            for st in low.steps:
                if low.alias is None:
                    produced += st.writes
                steps.append((index, st))
        outputs = [n for n in dict.fromkeys(produced) if n in live_after]
        bf16_kinds = {native.STEP_CONV2D_PACKED_BF16, native.STEP_CONV2D_WINOGRAD_BF16, native.STEP_MATMUL_PACKED_BF16,
                      native.STEP_MATMUL_BF16, native.STEP_CONV2D_PACKED_PREACT_BF16}
        #: how many of the nodes compute in bf16 arithmetic (``precision="bf16"``)
        self.bf16_nodes = len({index for index, st in steps if st.kind in bf16_kinds})
        steps, placed = _concat_in_place(steps, root, live_after, const, nbytes, native.STEP_COPY)
        # one walk over the operands: what the steps read (views resolved), and every storage's live interval
        # (arena values: from their first write to their last read, views included)
        reads: list[str] = []
        first: dict[str, int] = {}
        last: dict[str, int] = {}
        for position, (_, st) in enumerate(steps):
            writes = st.writes
            for name in st.operands:
                if name:
                    base = root.get(name, name)
                    if name in writes:
                        first.setdefault(base, position)
                    else:
                        reads.append(base)
                    last[base] = position
        produced_set = set(produced)
        inputs: list[str] = []
        read_consts: dict[str, np.ndarray] = {}
        for name in dict.fromkeys(reads):
            array = const(name)
            if array is not None:
                read_consts[name] = array
            elif name not in produced_set:
                inputs.append(name)

        # slots: one per distinct storage
        slot_of: dict[str, int] = {}
        slot_bytes: list[int] = []
        binds: list[tuple] = []

        def new_slot(name: str, size: int, bind: tuple) -> None:
            slot_of[name] = len(slot_bytes)
            slot_bytes.append(size)
            binds.append(bind)

        self._inputs = [_Tensor(name, *meta(name)) for name in inputs]
        self._outputs = [_Tensor(name, *meta(name)) for name in outputs]
        for i, t in enumerate(self._inputs):
            new_slot(t.name, nbytes(t.name), ("extern", i, False))
        for j, t in enumerate(self._outputs):
            new_slot(t.name, nbytes(t.name), ("extern", len(inputs) + j, True))
        for name, array in read_consts.items():
            if name not in slot_of:
                array = aligned(array)
                new_slot(name, array.nbytes, ("const", array))
        for src, (y, _) in placed.items():  # a Concat's output holds its placed inputs from their writes on
            if src not in last:  # a Concat output read only by the Concat that holds it, its inputs all placed
                continue
            end = last.pop(src)
            start = first.pop(src, end)  # a Concat output whose inputs are all placed is never written itself
            first[y] = min(first.get(y, last.get(y, start)), start)
            last[y] = max(last.get(y, end), end)
        intervals = [Interval(name, align(nbytes(name)), first.get(name, last[name]), last[name])
                     for name in last if name not in slot_of]
        self.arena_bytes = pack(intervals)
        # the plan the session reports (:meth:`litert.backend.CompiledPartition.memory_plan`): the arena, and
        # the inputs and outputs a run holds besides (as the graph's plan counts them; the memory limit is
        # checked against it, so an input shape of 10^6 x 10^6 is refused at load, not at predict)
        externs = sum(align(nbytes(t.name)) for t in (*self._inputs, *self._outputs))
        self.arena_plan = MemoryPlan(
            peak_bytes=self.arena_bytes + externs,
            naive_bytes=sum(i.size for i in intervals) + sum(align(nbytes(src)) for src in placed) + externs,
            offsets={i.name: (i.offset, i.size) for i in intervals})
        for item in intervals:
            new_slot(item.name, nbytes(item.name), ("arena", item.offset))
        for src, (y, offset) in placed.items():
            new_slot(src, nbytes(src), ("arena", binds[slot_of[y]][1] + offset))
        for name, base in root.items():
            if base in slot_of:  # else no step stores it (a pre-activation folded into the conv that read it)
                slot_of[name] = slot_of[base]

        self.program = native.Program(slot_bytes)
        for slot, bind in enumerate(binds):
            if bind[0] == "extern":
                self.program.bind_extern(slot, bind[1], bind[2])
            elif bind[0] == "const":
                self.program.bind_const(slot, bind[1])
            else:
                self.program.bind_arena(slot, bind[1])
        self._step_nodes: list[int] = []
        #: the library step kind of every step, in run order (for tests and tools)
        self.step_kinds: list[int] = [st.kind for _, st in steps]
        if not {getattr(native, kind) for kind in GEMM_STEPS}.isdisjoint(self.step_kinds):
            load_blas()  # before the first run calls the GEMM
        node_steps: list[list[int]] = [[] for _ in nodes]
        add = self.program.add
        for index, st in steps:
            slots = tuple([slot_of[n] if n else -1 for n in st.operands])
            try:
                position = add(st.kind, slots, tuple(map(int, st.ints)), tuple(map(float, st.floats)))
            except (ValueError, IndexError, OverflowError) as err:  # a lowering bug: say which node
                sizes = [slot_bytes[i] if i >= 0 else None for i in slots]
                raise ExecutionError(f"node {nodes[index].name!r} ({nodes[index].qualified_op}): native step "
                                     f"{st.kind} {st.ints} over slots of {sizes} bytes refused: {err}") from None
            node_steps[index].append(position)
            self._step_nodes.append(index)
        #: per node, its range of steps (empty for a pure view)
        self._node_steps = [(min(p), max(p) + 1) if p else (0, 0) for p in node_steps]
        #: what :meth:`_view` needs, turned into ``_views`` on its first call: only node hooks (profiling,
        #: ``litert compare``) ask, and building it for every value costs a 100k-node chain 0.2 s of its load
        self._view_sources: tuple[list[str], dict[str, int], Callable] | None = (produced, slot_of, meta)
        self._views: dict[str, tuple[int, tuple[int, ...], np.dtype]] = {}
        self._binds = binds
        self.input_names = inputs
        self.output_names = outputs
        self._free: list[np.ndarray] = []
        self._pool = pool(threads)

    # -- running --------------------------------------------------------------

    def _arena(self) -> np.ndarray:
        try:
            return self._free.pop()
        except IndexError:
            return aligned_empty(self.arena_bytes, np.uint8)

    def _bind(self, args) -> list[np.ndarray]:
        externs = []
        for spec, array in zip(self._inputs, args):
            if type(array) is not np.ndarray or array.dtype != spec.dtype or array.shape != spec.shape:
                array = np.asarray(array)
                if array.shape != spec.shape or array.dtype.kind != spec.dtype.kind:
                    raise ExecutionError(
                        f"native segment starting at node {self.nodes[0].name!r}: input {spec.name!r} is "
                        f"{array.dtype}{list(array.shape)}, the compiled plan expects {spec.dtype}{list(spec.shape)}")
                # a float of another width from a numpy kernel: the graph's declared type
                array = array.astype(spec.dtype)
            if not array.flags.c_contiguous:
                array = np.ascontiguousarray(array)
            externs.append(array)
        for spec in self._outputs:
            externs.append(np.empty(spec.shape, spec.dtype))
        return externs

    @property
    def hides_values(self) -> bool:
        """Whether some node outputs are not observable (fused away)."""
        return bool(self._hidden)

    def run(self, args, hooks=None) -> tuple[np.ndarray, ...]:
        """Outputs in :attr:`output_names` order."""
        externs = self._bind(args)
        arena = self._arena()
        try:
            if hooks is None:
                self._call(arena, externs, 0, -1)
            else:
                self._run_hooked(arena, externs, hooks)
        finally:
            self._free.append(arena)
        return tuple(externs[len(self._inputs):])

    def _call(self, arena, externs, first: int, last: int) -> None:
        native = module()
        try:
            self.program.run(self._pool, arena, externs, first, last)
        except native.KernelError as err:
            what, step = err.args if len(err.args) == 2 else (str(err), -1)
            node = self.nodes[self._step_nodes[step]] if 0 <= step < len(self._step_nodes) else self.nodes[0]
            raise ExecutionError(f"node {node.name!r} ({node.qualified_op}) failed in the native kernels: {what}") from None

    def _run_hooked(self, arena, externs, hooks) -> None:
        """Node by node, so that hooks see every node and its outputs (profiling, compare)."""
        for index, node in enumerate(self.nodes):
            hooks.before_node(node, "cpu")
            first, last = self._node_steps[index]
            if last > first:
                self._call(arena, externs, first, last)
            hooks.after_node(node, "cpu", [self._view(name, arena, externs) if name else None for name in node.outputs])

    def _view(self, name: str, arena: np.ndarray, externs: list) -> np.ndarray | None:
        if self._view_sources is not None:
            produced, slot_of, meta = self._view_sources
            self._views = {name: (slot_of[name], *meta(name)) for name in produced if name in slot_of}
            self._view_sources = None
        found = self._views.get(name)
        if found is None or name in self._hidden:
            return None
        slot, shape, dtype = found
        bind = self._binds[slot]
        # views, valid until the next node runs: hooks that keep tensors copy them (see NodeHooks)
        if bind[0] == "extern":
            return externs[bind[1]].reshape(shape)
        if bind[0] == "arena":
            size = math.prod(shape) * dtype.itemsize
            flat = np.frombuffer(arena, np.uint8, size, bind[1]).view(dtype)
            if name in self._channels_last:
                n, c, h, w = shape
                return flat.reshape(n, h, w, c).transpose(0, 3, 1, 2)
            return flat.reshape(shape)
        return bind[1].reshape(shape)
