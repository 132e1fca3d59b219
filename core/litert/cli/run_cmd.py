"""``litert run``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._args import add_precision_argument


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--fmk", help="source format when the suffix does not tell")
    parser.add_argument("--weight-file", "--weightFile", dest="weight_file",
                        help="Caffe: the .caffemodel of the .prototxt (default: the one beside it)")
    parser.add_argument("--input", action="append", default=[],
                        help=".npy or raw .bin (MindSpore Lite's headerless buffer, shape and dtype from the model): "
                             "one input each, repeat in input order; .npz: inputs by name")
    parser.add_argument("--random", action="store_true",
                        help="run on seeded random data of each input's dtype and shape instead of --input files")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random (default 0)")
    parser.add_argument("--input-layout", choices=("NCHW", "NHWC"), type=str.upper, default=None,
                        help="layout of 4-D input data when it is not the model's (e.g. NCHW images for an NHWC .ms): "
                             "litert transposes them")
    parser.add_argument("--device", default=None,
                        help="comma-separated backend order, e.g. ascend,cpu; a device that is absent is an error "
                             "unless cpu is in the list (then the fallback is reported on stderr)")
    parser.add_argument("--threads", type=int, default=None)
    add_precision_argument(parser)
    parser.add_argument("--input-shape", help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--output", help="write outputs to this .npz")
    parser.add_argument("--timeout", type=float, default=None, help="stop a run still going after this many seconds")
    parser.add_argument("--verbose", "-v", action="store_true", help="load time per phase and placement summary")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import litert
    from litert.benchmark.accuracy import write_npz
    from litert.benchmark.inputs import is_raw_buffer, resolve_inputs
    from litert.errors import InputError

    from ._args import load_for_devices, parse_input_shapes

    session = load_for_devices(litert.load, args.model, args.device, threads=args.threads, fmk=args.fmk,
                               input_shapes=parse_input_shapes(args.input_shape), weight_file=args.weight_file,
                               precision=args.precision)
    if args.verbose or args.precision != "fp32":
        print(f"precision {session.precision}")
    if args.verbose:
        phases = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in session.timings.items())
        print(f"loaded in {sum(session.timings.values()) * 1000:.1f} ms ({phases})")
        for line in session.summary_lines():
            print(line)
        print(session.memory_plan.summary())
    if args.random == bool(args.input):
        raise InputError("give the input data (--input FILE, repeated in input order) or --random, not "
                         + ("both" if args.random else "neither"))
    raw = [p for p in args.input if args.input_layout and Path(p).is_file() and is_raw_buffer(p)]
    if raw:
        raise InputError(f"--input-layout applies to .npy/.npz data; {raw[0]} is a raw buffer, read in the "
                         "model's own layout and shape")
    feeds, specs = resolve_inputs(session, None if args.random else args.input, args.seed)
    if args.random:
        for spec in specs:
            print(f"input {spec.name}: {spec.dtype} {spec.shape} from {spec.source}")
    start = time.perf_counter()
    outputs = session.run(feeds, timeout=args.timeout, layout=args.input_layout)
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
