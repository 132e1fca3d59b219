"""``litert run``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litert.runtime.session import Session


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--fmk", help="source format when the suffix does not tell")
    parser.add_argument("--input", action="append", default=[],
                        help=".npy (one input; repeat in input order) or .npz (keyed by input name)")
    parser.add_argument("--device", default=None, help="comma-separated backend order, e.g. ascend,cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--input-shape", help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--output", help="write outputs to this .npz")
    parser.add_argument("--timeout", type=float, default=None, help="stop a run still going after this many seconds")
    parser.add_argument("--verbose", "-v", action="store_true", help="load time per phase and placement summary")


def load_inputs(paths: list[str], session: Session) -> dict[str, Any]:
    import numpy as np

    from litert.benchmark.inputs import read_array_file
    from litert.errors import InputError

    names = [i.name for i in session.inputs]
    feeds: dict[str, Any] = {}
    npy_index = 0
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"input file {path} does not exist")
        data = read_array_file(path)
        if isinstance(data, np.ndarray):
            if npy_index >= len(names):
                raise InputError(f"more .npy inputs than model inputs ({', '.join(names)})")
            feeds[names[npy_index]] = data
            npy_index += 1
        else:
            feeds.update(data)
    return feeds


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import litert
    from litert.benchmark.accuracy import write_npz

    from ._args import parse_input_shapes

    devices = args.device.split(",") if args.device else None
    session = litert.load(args.model, devices=devices, threads=args.threads, fmk=args.fmk,
                          input_shapes=parse_input_shapes(args.input_shape))
    if args.verbose:
        phases = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in session.timings.items())
        print(f"loaded in {sum(session.timings.values()) * 1000:.1f} ms ({phases})")
        for line in session.summary_lines():
            print(line)
        print(session.memory_plan.summary())
    feeds = load_inputs(args.input, session)
    start = time.perf_counter()
    outputs = session.run(feeds, timeout=args.timeout)
    elapsed = time.perf_counter() - start
    for name, value in outputs.items():
        value = np.asarray(value)
        stats = ""
        if value.dtype.kind in "fiu" and value.size:
            stats = f" min {value.min():.6g} max {value.max():.6g} mean {value.astype(np.float64).mean():.6g}"
        print(f"{name}: {value.dtype} {list(value.shape)}{stats}")
    print(f"latency {elapsed * 1000:.2f} ms")
    if args.output:
        output = args.output if args.output.endswith(".npz") else args.output + ".npz"  # as np.savez names it
        write_npz(output, outputs)
        print(f"wrote {output}")
    return 0
