"""``litert benchmark``: latency, per-operator profile, memory and accuracy of a model.

It also takes MindSpore Lite's benchmark flags verbatim (``--modelFile=m.ms
--inDataFile=in.bin --benchmarkDataFile=m.out --numThreads=2 ...``, see
:mod:`litert.cli.mslite_flags`); with any of them it prints MindSpore Lite's
header lines too.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._args import add_precision_argument
from ._json_output import report_stream, write_json

if TYPE_CHECKING:
    from litert.benchmark.result import BenchmarkResult


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    from .mslite_flags import add_flags, benchmark_flags

    parser.add_argument("--model", help="model file (or --modelFile=...)")
    parser.add_argument("--fmk", help="source format when the suffix does not tell")
    parser.add_argument("--device", default=None, help="comma-separated backend order, e.g. ascend,cpu; or "
                        "MindSpore Lite's CPU, NPU, Ascend, Auto")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default 1)")
    parser.add_argument("--loop-count", type=int, default=10, help="timed runs (default 10)")
    parser.add_argument("--warmup-loop-count", type=int, default=3, help="untimed warm-up runs (default 3)")
    parser.add_argument("--input-shapes", "--input-shape", dest="input_shapes",
                        help="fix input dims: name:1,3,224,224;other:1,128 (needed for random data on symbolic dims)")
    parser.add_argument("--in-data", nargs="+", action="extend", default=[], metavar="FILE",
                        help="input data: .npz (by input name), .npy or raw .bin (one per input, in input order); "
                             "default: seeded random data")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input data (default 0)")
    parser.add_argument("--benchmark-data", metavar="FILE",
                        help="reference tensors (outputs and/or intermediates by name): .npz, .npy, or "
                             "MindSpore Lite's text calibration file")
    parser.add_argument("--accuracy-threshold", type=float, default=0.5,
                        help="maximum mean bias per tensor, percent (default 0.5)")
    parser.add_argument("--cosine-threshold", type=float, default=None,
                        help="also fail a tensor whose cosine similarity is below this")
    add_precision_argument(parser)
    parser.add_argument("--optimize", choices=("general", "none"), default="general",
                        help="'none' keeps every node's output tensor, to check intermediates fusion removes")
    parser.add_argument("--time-profiling", action="store_true", help="per-operator and per-op-type time tables")
    parser.add_argument("--top", type=int, default=25, help="rows of the per-operator table (0 = all; default 25)")
    parser.add_argument("--json", metavar="FILE", help="write every figure as JSON ('-' for stdout)")
    parser.add_argument("--plot", metavar="FILE",
                        help="write the per-operator profile as a chart (.html, .svg or .png); "
                             "implies --time-profiling")
    parser.set_defaults(time_profiling=False, msl_model_type=None, msl_positional_shapes=None)
    add_flags(parser, [f for f in benchmark_flags() if f.name != "device"],
              "MindSpore Lite benchmark flags (--name=value; --device also takes its values)")


def run(args: argparse.Namespace) -> int:
    import litert
    from litert.benchmark import report

    from ._args import parse_input_shapes

    mindspore_lite = _translate_mindspore_lite_flags(args)
    if args.plot:
        from litert.benchmark.plot import check_plot_path

        check_plot_path(args.plot)
    in_data = [p for item in args.in_data for p in item.split(",") if p]
    result = litert.benchmark(
        args.model,
        devices=args.device.split(",") if args.device else None,
        threads=args.threads,
        loop_count=args.loop_count,
        warmup_loop_count=args.warmup_loop_count,
        input_shapes=parse_input_shapes(args.input_shapes),
        inputs=in_data or None,
        benchmark_data=args.benchmark_data,
        accuracy_threshold=args.accuracy_threshold,
        cosine_threshold=args.cosine_threshold,
        time_profiling=args.time_profiling or bool(args.plot),
        seed=args.seed,
        optimize=args.optimize,
        fmk=args.fmk,
        progress=True,
        precision=args.precision,
    )
    out = report_stream(args.json)
    lines = _mindspore_lite_header(args, result) if mindspore_lite else []
    lines += report.summary_lines(result)
    if result.profile is not None:
        lines += [""] + report.profile_lines(result.profile, args.top)
    if result.accuracy is not None:
        lines += [""] + report.accuracy_lines(result.accuracy)
    print("\n".join(lines), file=out)
    if args.plot and result.profile is not None:
        from litert.benchmark.plot import write_plot

        path = write_plot(result.profile, args.plot, f"litert profile: {result.model}")
        print(f"wrote {path}", file=out)
    write_json(result, args.json, out)
    if not result.passed and result.accuracy is not None:
        print(f"litert benchmark: {report.accuracy_failure(result.accuracy)}", file=sys.stderr)
        return 1
    return 0


def _translate_mindspore_lite_flags(args: argparse.Namespace) -> bool:
    """Apply MindSpore Lite's flags to ``args``; True when any was given."""
    from litert.errors import InputError

    from .mslite_flags import apply_flags, benchmark_flags

    model = args.model
    args.model = None
    given = apply_flags(args, [f for f in benchmark_flags() if f.name != "device"], args)
    if model and args.model and model != args.model:
        raise InputError(f"--model {model} and --modelFile={args.model} name different models")
    args.model = args.model or model
    if not args.model:
        raise InputError("--model (or --modelFile=...) is required")
    if args.device is not None:
        device = next(f for f in benchmark_flags() if f.name == "device")
        device.apply(args.device, args)
    if args.msl_model_type or args.msl_positional_shapes:
        _check_model_type_and_shapes(args)
    return given


def _check_model_type_and_shapes(args: argparse.Namespace) -> None:
    """``--modelType`` against the file's format; ``--inputShapes`` (by position) as names."""
    from pathlib import Path

    from litert.errors import InputError
    from litert.runtime.loading import find_frontend, read_model

    if args.msl_model_type:
        found = find_frontend(Path(args.model), args.fmk).name
        if found != args.msl_model_type:
            raise InputError(f"--modelType names a {args.msl_model_type} model but {args.model} is {found}")
    if args.msl_positional_shapes:
        names = read_model(args.model, args.fmk).graph.inputs
        if len(names) != len(args.msl_positional_shapes):
            raise InputError(f"--inputShapes gives {len(args.msl_positional_shapes)} shape(s), the model has "
                             f"{len(names)} input(s) ({', '.join(names)})")
        args.input_shapes = ";".join(f"{n}:{','.join(map(str, s))}" for n, s in zip(names, args.msl_positional_shapes))


def _mindspore_lite_header(args: argparse.Namespace, result: BenchmarkResult) -> list[str]:
    """MindSpore Lite's benchmark header lines (the values litert used)."""
    return [
        f"ModelPath = {args.model}",
        f"ModelType = {'MindIR_Lite' if result.format == 'ms' else 'MindIR'}",
        f"InDataPath = {' '.join(args.in_data)}",
        f"LoopCount = {result.latency.loops}",
        f"DeviceType = {','.join(result.devices)}",
        f"AccuracyThreshold = {args.accuracy_threshold:g}",
        f"CosineDistanceThreshold = {-1.1 if args.cosine_threshold is None else args.cosine_threshold:g}",
        f"WarmUpLoopCount = {result.warmup_loops}",
        f"NumThreads = {result.threads}",
        "Fp16Priority = 0",
        f"calibDataPath = {args.benchmark_data or ''}",
        "cpuBindMode = NO_BIND",
    ]
