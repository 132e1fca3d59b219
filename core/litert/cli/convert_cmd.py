"""``litert convert``."""
from __future__ import annotations


def add_arguments(name: str, parser) -> None:
    parser.add_argument("--fmk", help="source format (onnx, ...); default: from the file")
    parser.add_argument("--model", required=True, help="model file to convert")
    parser.add_argument("--output", required=True, help="file to write; its suffix picks the format")
    parser.add_argument("--output-format", help="writer to use when the suffix does not tell")
    parser.add_argument("--input-shape", help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--optimize", choices=("none", "general"), default="general")
    parser.add_argument("--input-format", choices=("NHWC", "NCHW"), type=str.upper,
                        help=".ms output: layout of 4-D inputs (default NHWC, as MindSpore Lite's converter)")


def run(args) -> int:
    import litert

    from ._args import parse_input_shapes

    report = litert.convert(
        args.model, args.output, fmk=args.fmk, output_format=args.output_format,
        input_shapes=parse_input_shapes(args.input_shape), optimize_level=args.optimize,
        input_format=args.input_format,
    )
    print("\n".join(report.lines()))
    return 0
