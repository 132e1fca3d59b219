"""Load cost of a long graph: ``litert.load`` of an ONNX chain of cheap elementwise nodes.

The chain alternates ``Relu`` and ``Add(h, x)`` over a ``[1, 4]`` float input
(the shape of ``tests/reliability/test_load_cost.py``), so that what is
measured is the per-node cost of reading, validating, optimising,
scheduling, compiling and planning, nothing else.  The model is written to
a temporary folder; imports, plugin discovery and the kernel library are
warmed up with a two-node load first.  Prints CPU (``time.process_time``)
and wall seconds of the load, the session's stage timings, and checks that
``predict`` runs.

    python benchmarks/chain_load.py 100000
    python benchmarks/chain_load.py 20000 --profile /tmp/chain.prof   # then pstats, by tottime
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper


def chain(n: int):
    names = ["x"] + [f"h{i}" for i in range(n - 1)] + ["y"]
    nodes = [helper.make_node("Relu", [a], [b], name=f"n{i}") if i % 2 == 0 else
             helper.make_node("Add", [a, "x"], [b], name=f"n{i}") for i, (a, b) in enumerate(zip(names, names[1:]))]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", type=int, nargs="?", default=100_000)
    parser.add_argument("--profile", help="write a cProfile of the load here")
    args = parser.parse_args()

    import litert

    with tempfile.TemporaryDirectory() as tmp:
        small, path = Path(tmp) / "two.onnx", Path(tmp) / "chain.onnx"
        small.write_bytes(chain(2).SerializeToString())
        path.write_bytes(chain(args.nodes).SerializeToString())
        litert.load(small)
        profiler = None
        if args.profile:
            # this folder's profile.py (a benchmark) would stand for the standard library's ``profile``, which
            # cProfile imports ("module 'profile' has no attribute 'run'"): nothing else is imported from here
            here = Path(__file__).resolve().parent
            sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        session = litert.load(path)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        [y] = session.predict([np.ones((1, 4), np.float32)])
    stages = ", ".join(f"{k} {v:.2f}" for k, v in session.timings.items())
    print(f"{args.nodes} nodes: load {cpu:.2f} s CPU, {wall:.2f} s wall ({stages} s); y[0, 0] = {y[0, 0]:g}")


if __name__ == "__main__":
    main()
