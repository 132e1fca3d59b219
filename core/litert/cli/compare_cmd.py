"""``litert compare``: where a converted model's tensors diverge from the original's."""
from __future__ import annotations

import argparse
import sys

from ._json_output import report_stream, write_json


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model under test (e.g. the converted one)")
    parser.add_argument("--reference", required=True, help="the original model")
    parser.add_argument("--fmk", help="source format of --model when the suffix does not tell")
    parser.add_argument("--in-data", nargs="+", action="extend", default=[], metavar="FILE",
                        help="input data: .npz, .npy or raw .bin (default: seeded random data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input data (default 0)")
    parser.add_argument("--input-shapes", "--input-shape", dest="input_shapes",
                        help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--device", default=None, help="backend order for --model, e.g. ascend,cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--optimize", choices=("none", "general"), default="none",
                        help="how to load --model: 'none' (default) compares every node of the file; "
                             "'general' compares what deployment runs (fused nodes by their output names)")
    parser.add_argument("--reference-engine", default="auto", metavar="ENGINE",
                        help="auto (default): a plugin's engine for the reference's file type when it can run here "
                             "(onnxruntime for .onnx), else litert; or name one: litert, onnxruntime, ...")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance, of max |reference| (1e-3)")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (1e-5)")
    parser.add_argument("--dump", metavar="DIR", help="write model.npz, reference.npz and comparison.json here")
    parser.add_argument("--all", action="store_true", help="list every compared tensor")
    parser.add_argument("--json", metavar="FILE", help="write the comparison as JSON ('-' for stdout)")


def run(args: argparse.Namespace) -> int:
    from litert.benchmark import compare, report

    from ._args import parse_input_shapes

    in_data = [p for item in args.in_data for p in item.split(",") if p]
    comparison = compare(
        args.model, args.reference,
        inputs=in_data or None,
        input_shapes=parse_input_shapes(args.input_shapes),
        devices=args.device.split(",") if args.device else None,
        threads=args.threads,
        optimize=args.optimize,
        reference_engine=args.reference_engine,
        rtol=args.rtol,
        atol=args.atol,
        seed=args.seed,
        fmk=args.fmk,
        dump=args.dump,
    )
    out = report_stream(args.json)
    print("\n".join(report.comparison_lines(comparison, 0 if args.all else 30)), file=out)
    if args.dump:
        print(f"wrote {args.dump}/model.npz, reference.npz, comparison.json", file=out)
    write_json(comparison, args.json, out)
    first = comparison.first_divergence
    if first is not None:
        print(f"litert compare: {len(comparison.diverged)} tensor(s) diverge; first diverging node {first.node!r} "
              f"({first.op_type}), tensor {first.name!r}", file=sys.stderr)
        return 1
    return 0
