"""A default load is cheap: no subprocess (backend probes), a one-node model in under 20 ms once the
process has loaded one, a first load importing only what the model needs (no ``onnx``: the reader has its own
copy of ONNX's schema; the first load took ~65 ms on a shared 2-vCPU Zen 4 when ~40 of them were onnx's import
and C++ operator table), the memory planner scales, and so does a whole load of a long chain."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers.hostile import F, onnx_model, save
from onnx import helper

_NO_SUBPROCESS = '''
import os, subprocess, sys, time, json
spawned = []
def refuse(*args, **kwargs):
    spawned.append(repr(args[:1])[:200])
    raise OSError("litert must not start a process while loading")
subprocess.Popen.__init__ = lambda self, *a, **k: refuse(*a, **k)
os.posix_spawn = os.posix_spawnp = os.fork = os.system = refuse
import litert
times = []
for _ in range(7):
    started = time.perf_counter()
    litert.load(sys.argv[1])
    times.append(time.perf_counter() - started)
print(json.dumps({"spawned": spawned, "first": times[0], "best": min(times[1:])}))
'''


def test_default_load_starts_no_process_and_is_fast(tmp_path):
    path = save(onnx_model([helper.make_node("Relu", ["x"], ["y"], name="relu")], {"x": (F, [1, 4])},
                           {"y": (F, [1, 4])}), tmp_path / "one.onnx")
    result = subprocess.run([sys.executable, "-c", _NO_SUBPROCESS, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["spawned"] == [], report
    assert report["best"] < 0.020, f"a one-node load takes {report['best'] * 1000:.1f} ms"


_FIRST_LOAD = '''
import json, sys, time
import numpy
import litert
started, cpu = time.perf_counter(), time.process_time()
litert.load(sys.argv[1])
first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
from litert.schema import schemas
print(json.dumps({"first": first, "first_cpu": first_cpu, "modules": sorted(sys.modules),
                  "schemas_built": len(schemas()._ops)}))
'''


def _first_load(path) -> dict:
    # bytecode may be written: with PYTHONDONTWRITEBYTECODE set (as on CI), a fresh clone's every child compiled
    # litert's modules from source again, which is not the load's cost (88 ms of CPU instead of ~35).
    # OPENBLAS_NUM_THREADS=1: numpy's OpenBLAS otherwise starts a thread per core at ``import numpy``, which
    # spins for a while before it sleeps; with ``import litert`` down to ~30 ms that spinning overlapped the
    # timed load and doubled the process's CPU time in most children (wall and the loading thread's own CPU
    # unchanged).  litert's own threads still count.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    result = subprocess.run([sys.executable, "-c", _FIRST_LOAD, str(path)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _one_node(tmp_path) -> Path:
    return save(onnx_model([helper.make_node("Relu", ["x"], ["y"], name="relu")], {"x": (F, [1, 4])},
                           {"y": (F, [1, 4])}), tmp_path / "one.onnx")


#: CPU seconds a fresh process's first load of a one-node model may take (best of :data:`_FIRST_LOAD_TRIES`):
#: 20 ms best, 22 median of 20 fresh processes on a 2-vCPU Zen 4 KVM guest shared with other work (load average
#: ~1; 31 and 34 at 6004398, before discovery read entry points itself, the ONNX schema was built on upb, the
#: operator table was parsed per operator, the benchmark machinery left the load and its records stopped being
#: dataclasses; 61 and 69 while the load imported onnx); the bound leaves room for a loaded CI runner and the
#: suite's own parallel work
_FIRST_LOAD_CPU_BOUND = 0.040
_FIRST_LOAD_TRIES = 5


def test_first_load_is_fast_and_imports_no_onnx(tmp_path):
    """A fresh process's first load reads the file with litert's own copy of ONNX's schema: the ``onnx``
    package (~40 ms of import: its C++ extension and operator table) stays unimported when the model declares
    every type, and the load (plugin discovery, protobuf, the reader, schemas, passes, lowering) is cheap.
    Measured in CPU time, the best of a few fresh processes: a shared host's other work stretches wall time,
    and inflates even CPU time while the suite runs, but not every try."""
    path = _one_node(tmp_path)
    _first_load(path)  # compiles what a fresh checkout has no bytecode for yet
    best = float("inf")
    for _ in range(_FIRST_LOAD_TRIES):
        report = _first_load(path)
        assert "onnx" not in report["modules"], "a default load imported onnx"
        assert not [m for m in report["modules"] if m.startswith("onnx.")]
        # a float32 model needs neither ml_dtypes' extension types nor a logging handler (~4 and ~3 ms)
        assert "ml_dtypes" not in report["modules"], "a float32 load imported ml_dtypes"
        assert "logging" not in report["modules"], "a load that logs nothing visible imported logging"
        best = min(best, report["first_cpu"])
        if best < _FIRST_LOAD_CPU_BOUND:
            break
    assert best < _FIRST_LOAD_CPU_BOUND, f"a first load took {best * 1000:.1f} ms of CPU (best of {_FIRST_LOAD_TRIES})"


def test_an_int8_load_imports_no_ml_dtypes(tmp_path):
    """The DequantizeLinear kernel (here folding a constant int8 weight, as in onnxruntime's QDQ files) knows
    numpy's integer types without ``ml_dtypes`` (~6 ms of import), which only float8/float4/int4 types need."""
    from onnx import numpy_helper

    nodes = [helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["w"]), helper.make_node("Add", ["x", "w"], ["y"])]
    params = [numpy_helper.from_array(np.arange(4, dtype=np.int8).reshape(1, 4), "wq"),
              numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(3, np.int8), "z")]
    path = save(onnx_model(nodes, {"x": (F, [1, 4])}, {"y": (F, [1, 4])}, params), tmp_path / "qdq.onnx")
    modules = _first_load(path)["modules"]
    assert "litert_cpu.kernels.nn.quant" in modules  # the kernel ran: the assertion below means something
    assert "ml_dtypes" not in modules


_READ_TYPES = '''
import json, sys
from pathlib import Path
from litert.runtime import read_model
graph = read_model(Path(sys.argv[1])).graph
print(json.dumps({"onnx": "onnx" in sys.modules,
                  "types": {n: [str(v.dtype), v.shape] for n, v in graph.values.items()}}))
'''


def _read_types(path) -> dict:
    result = subprocess.run([sys.executable, "-c", _READ_TYPES, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


_IMPORT = """
import json, sys
import numpy
before = set(sys.modules)
import litert
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_import_litert_leaves_discovery_reading_and_benchmarks_for_later():
    """``import litert`` (~30 ms on a 2-vCPU Zen 4, 52 at 6004398) imports no plugin, no protobuf, no
    ``importlib.metadata`` (with ``email``, ``zipfile``...) and none of the benchmark/compare machinery:
    ``litert.benchmark`` is the function, its package's other names resolve on first use."""
    result = subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    unwanted = {"importlib.metadata", "email", "zipfile", "tempfile", "google.protobuf", "litert.benchmark.result",
                "litert.benchmark.accuracy", "litert.benchmark.comparison", "litert.quant"}
    assert not unwanted & imported, sorted(unwanted & imported)
    assert not [m for m in imported if m.startswith(("litert_", "onnx"))]


def test_reader_types_values_itself_and_asks_onnx_only_for_what_it_cannot(tmp_path):
    """Undeclared intermediate types come from litert's own inference (no ``onnx`` import), a graph output's
    symbolic declaration gives way to the static shape the op gives; a value litert cannot type (a Reshape to
    a target of unknown length) makes the reader read again with onnx's shape inference, which imports onnx."""
    from onnx import TensorProto

    nodes = [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Transpose", ["h"], ["y"], perm=[1, 0])]
    own = _read_types(save(onnx_model(nodes, {"x": (F, [2, 3])}, {"y": (F, ["a", "b"])}), tmp_path / "own.onnx"))
    assert not own["onnx"]
    assert own["types"]["h"] == ["float32", [2, 3]] and own["types"]["y"] == ["float32", [3, 2]]

    nodes = [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Reshape", ["h", "s"], ["y"])]
    model = onnx_model(nodes, {"x": (F, [2, 3]), "s": (TensorProto.INT64, [None])}, {"y": (F, None)})
    fallback = _read_types(save(model, tmp_path / "fallback.onnx"))
    assert fallback["onnx"]
    assert fallback["types"]["h"] == ["float32", [2, 3]] and fallback["types"]["y"] == ["float32", None]


def test_first_load_imports_only_what_the_model_needs(tmp_path):
    """A fresh process's first load of a one-node model imports no kernel module but its operator's, no
    threadpoolctl (a scan of the loaded libraries: ``litert list-backends`` only), no protobuf descriptor_pb2
    (``GetOptions``), and builds the schemas of a few operators, not of all ~200.  Nor, each once a few ms of
    it: ``importlib.metadata`` (plugin discovery reads the metadata folders itself, :mod:`litert.entry_points`;
    it would take a zip on ``sys.path``), protobuf's pure-Python message implementation (the ONNX schema is
    built on the upb extension, :mod:`litert_formats.proto_modules`), or the comparison and result classes of
    ``litert.benchmark`` (the onnxruntime reference engine registers through :mod:`litert.benchmark.engines`),
    or a dataclass (:mod:`litert.record`: twenty of them were ~6 ms of CPU), or ``heapq`` and ``copy`` (a
    graph in order on one backend needs no heap; attribute defaults are copied without ``copy``)."""
    from google.protobuf.internal import api_implementation

    from litert.schema.inference._index import INDEX as RULE_INDEX
    from litert_cpu.kernels._index import INDEX

    report = _first_load(_one_node(tmp_path))
    modules = set(report["modules"])
    kernel_modules = {f"litert_cpu.kernels.{m}" for m in INDEX.values()} - {f"litert_cpu.kernels.{INDEX['', 'Relu']}"}
    assert not kernel_modules & modules, sorted(kernel_modules & modules)
    rules = "litert.schema.inference"
    rule_modules = {f"{rules}.{m}" for m in RULE_INDEX.values()} - {f"{rules}.{RULE_INDEX['', 'Relu']}"}
    assert not rule_modules & modules, sorted(rule_modules & modules)  # nor shape rules but its operator's
    assert "threadpoolctl" not in modules
    assert "google.protobuf.descriptor_pb2" not in modules
    assert report["schemas_built"] < 30, report["schemas_built"]
    assert "importlib.metadata" not in modules and "email" not in modules
    if api_implementation.Type() == "upb":
        assert not {"google.protobuf.internal.python_message", "google.protobuf.text_format"} & modules
    assert not {"litert.benchmark.comparison", "litert.benchmark.result", "litert.benchmark.accuracy"} & modules
    assert "dataclasses" not in modules, "a first load defined a dataclass (litert.record says why not)"
    assert not {"heapq", "copy"} & modules, sorted({"heapq", "copy"} & modules)


def _pack_seconds(n: int) -> float:
    import time

    from litert.memory import Interval, pack

    best = float("inf")
    for _ in range(3):
        chain = [Interval(f"v{k}", 64 * (1 + k % 3), k, k + 1 + (k % 7 == 0) * 5) for k in range(n)]
        started = time.perf_counter()
        pack(chain)
        best = min(best, time.perf_counter() - started)
    return best


def test_memory_planner_scales_n_log_n():
    """Ten times the nodes must cost far less than the hundred times an all-pairs overlap scan would."""
    small, large = _pack_seconds(4000), _pack_seconds(40000)
    assert large / small < 30, f"pack: {small * 1000:.0f} ms for 4k intervals, {large * 1000:.0f} ms for 40k"


def test_pack_keeps_its_placement():
    """The indexed search finds exactly the overlaps the all-pairs scan found: same offsets, same arena."""
    import copy
    import random

    from litert.memory import Interval, pack

    def all_pairs(intervals):
        placed = []
        for item in sorted(intervals, key=lambda i: (-i.size, i.first)):
            offset = 0
            for other in sorted((p for p in placed if p.first <= item.last and item.first <= p.last),
                                key=lambda p: p.offset):
                if offset + item.size <= other.offset:
                    break
                offset = max(offset, other.offset + other.size)
            item.offset = offset
            placed.append(item)
        return max((i.offset + i.size for i in placed), default=0)

    rng = random.Random(0)
    for _ in range(200):
        steps = rng.randint(1, 300)
        intervals = []
        for k in range(rng.randint(1, 120)):
            first = rng.randint(0, steps)
            last = rng.randint(first, min(steps, first + rng.choice([0, 1, 2, 5, 9, 50, 1000])))
            intervals.append(Interval(f"v{k}", 64 * rng.randint(1, 20), first, last))
        ours = copy.deepcopy(intervals)
        assert pack(ours) == all_pairs(intervals)
        assert [i.offset for i in ours] == [i.offset for i in intervals]


def _chain(n: int):
    """Relu, Add(x) alternating over n nodes on small tensors: per-node costs, nothing else."""
    names = ["x"] + [f"h{i}" for i in range(n - 1)] + ["y"]
    nodes = [helper.make_node("Relu", [a], [b], name=f"n{i}") if i % 2 == 0 else
             helper.make_node("Add", [a, "x"], [b], name=f"n{i}") for i, (a, b) in enumerate(zip(names, names[1:]))]
    return onnx_model(nodes, {"x": (F, [1, 4])}, {"y": (F, [1, 4])})


_LOAD_CPU = """
import sys, time, litert
litert.load(sys.argv[1])  # imports, plugin discovery, native library: not the chain's cost
paths = sys.argv[2:]
best = dict.fromkeys(paths, float("inf"))
for _ in range(4):  # interleaved, so a slow spell of a shared host falls on every size alike
    for path in paths:
        started = time.process_time()
        litert.load(path)
        best[path] = min(best[path], time.process_time() - started)
print(*(best[p] for p in paths))
"""


def _growth(pairs: list[tuple[Path, Path]], one: Path) -> list[tuple[float, float]]:
    """CPU seconds of loading each (small, large) pair, as the lowest of up to three child processes.

    Host noise only ever adds time and falls unevenly on the two sizes, so one measurement's ratio swings by
    +-25% on a shared VM; the lowest of three estimates the true ratio.  A quadratic pass is in all three.  Even
    linear code grows ~1.2x per node from 2k to 10k nodes on a 2-vCPU Zen 4 as the graph's objects outgrow the
    caches (per-rung cost 136, 175, 216, 228 us at 1.4k, 2.8k, 5.6k, 11.2k rungs), so the bounds allow 1.5x.
    """
    args = [str(one)] + [str(p) for pair in pairs for p in pair]
    best: list[tuple[float, float]] | None = None
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", _LOAD_CPU, *args], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        seconds = list(map(float, result.stdout.split()))
        trial = [(seconds[2 * k], seconds[2 * k + 1]) for k in range(len(pairs))]
        best = trial if best is None else [min(b, t, key=lambda st: st[1] / st[0]) for b, t in zip(best, trial)]
        if all(large / small < 7.5 for small, large in best):
            break
    assert best is not None
    return best


def test_a_long_chain_loads_in_linear_time(tmp_path):
    """Five times the nodes must cost about five times the CPU time of a load (collections over a growing heap
    and per-pass rescans made it 2.6x for twice the nodes); measured in CPU time, in a child process."""
    small = save(_chain(4000), tmp_path / "small.onnx")
    large = save(_chain(20000), tmp_path / "large.onnx")
    one = save(_chain(2), tmp_path / "one.onnx")
    [(t_small, t_large)] = _growth([(small, large)], one)
    assert t_large / t_small < 7.5, f"4k nodes {t_small:.2f} s, 20k nodes {t_large:.2f} s of CPU"
    assert t_large < 10, f"a 20k-node chain took {t_large:.1f} s of CPU to load"


def _identity_chain(n: int):
    """n Identity nodes: shape simplification removes all but the last (it names the graph output)."""
    names = ["x"] + [f"h{i}" for i in range(n - 1)] + ["y"]
    nodes = [helper.make_node("Identity", [a], [b], name=f"n{i}") for i, (a, b) in enumerate(zip(names, names[1:]))]
    return onnx_model(nodes, {"x": (F, [1, 4])}, {"y": (F, [1, 4])})


def _duplicate_ladder(n: int):
    """n steps of ``h' = Add(Relu(h), Relu(h))``: common-subexpression elimination removes one Relu per step."""
    nodes, h = [], "x"
    for i in range(n):
        out = "y" if i == n - 1 else f"h{i}"
        nodes += [helper.make_node("Relu", [h], [f"a{i}"], name=f"a{i}"),
                  helper.make_node("Relu", [h], [f"b{i}"], name=f"b{i}"),
                  helper.make_node("Add", [f"a{i}", f"b{i}"], [out], name=f"s{i}")]
        h = out
    return onnx_model(nodes, {"x": (F, [1, 4])}, {"y": (F, [1, 4])})


def test_passes_removing_many_nodes_stay_linear(tmp_path):
    """Shape simplification and CSE renamed the readers of each removed node with a scan of the whole graph:
    quadratic (an 8,000-node Identity chain took 16 s to optimise, 0.45 s now).  Five times the nodes must cost
    about five times the CPU time, not twenty-five."""
    one = save(_chain(2), tmp_path / "one.onnx")
    paths = [save(_identity_chain(2000), tmp_path / "id_small.onnx"), save(_identity_chain(10000), tmp_path / "id_large.onnx"),
             save(_duplicate_ladder(700), tmp_path / "dup_small.onnx"), save(_duplicate_ladder(3500), tmp_path / "dup_large.onnx")]
    (id_small, id_large), (dup_small, dup_large) = _growth([(paths[0], paths[1]), (paths[2], paths[3])], one)
    assert id_large / id_small < 7.5, f"Identity chain: 2k nodes {id_small:.2f} s, 10k nodes {id_large:.2f} s of CPU"
    assert dup_large / dup_small < 7.5, f"duplicates: 2.1k nodes {dup_small:.2f} s, 10.5k nodes {dup_large:.2f} s of CPU"


#: nodes of the chain :func:`test_a_100k_node_chain_loads_in_under_5_s` loads (100k takes too long for every
#: test run: the bound is scaled from the 100k figure)
_LONG_CHAIN = 30_000
#: CPU seconds a load of the :data:`_LONG_CHAIN`-node chain may take (best of four loads in one process, of up
#: to three processes): 5 s for 100k nodes scaled to 30k is 1.5 s; measured 1.28 s on a quiet host and 1.34-1.50 s
#: at load average ~3, where main (f0b0605) took 1.88 s quiet and 2.03-2.16 s loaded
_LONG_CHAIN_CPU_BOUND = 1.8


def test_a_100k_node_chain_loads_in_under_5_s(tmp_path):
    """Issue 14: a 100k-node chain (:func:`_chain`) loads in under 5 s.  Measured in CPU time in a child
    process that has already loaded a 2-node model (imports, plugin discovery and the native library are not
    the chain's cost), on a 30k-node chain.

    Figures, 2-vCPU AMD EPYC Zen 4 KVM guest, quiet (load average 0.2), ``litert.load`` after a 2-node load,
    best of 6 loads in 3 interleaved processes: 100k nodes 4.61 s wall and CPU, main (f0b0605) 6.73 s; per stage
    (s) read 2.46 -> 2.11, optimize 0.78 -> 0.27, shape inference 0.20 -> 0.13, schedule 0.62 -> 0.43, compile
    2.40 -> 1.48.  30k nodes: 1.28 s of CPU, main 1.88 s."""
    one = save(_chain(2), tmp_path / "one.onnx")
    path = save(_chain(_LONG_CHAIN), tmp_path / "long.onnx")
    best = float("inf")
    for _ in range(3):  # a shared host's spell of other work inflates even CPU time: the best of a few processes
        result = subprocess.run([sys.executable, "-c", _LOAD_CPU, str(one), str(path)], capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        best = min(best, float(result.stdout.split()[0]))
        if best < _LONG_CHAIN_CPU_BOUND:
            break
    assert best < _LONG_CHAIN_CPU_BOUND, f"a {_LONG_CHAIN}-node chain took {best:.2f} s of CPU to load"
