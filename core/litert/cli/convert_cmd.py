"""``litert convert``."""
from __future__ import annotations

import argparse


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fmk", help="source format (onnx, ...); default: from the file")
    parser.add_argument("--model", required=True, help="model file to convert")
    parser.add_argument("--weight-file", "--weightFile", dest="weight_file",
                        help="Caffe: the .caffemodel of the .prototxt (default: the one beside it)")
    parser.add_argument("--output", required=True, help="file to write; its suffix picks the format")
    parser.add_argument("--output-format", help="writer to use when the suffix does not tell")
    parser.add_argument("--input-shape", help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--optimize", choices=("none", "general"), default="general")
    parser.add_argument("--input-format", choices=("NHWC", "NCHW"), type=str.upper,
                        help=".ms output: layout of 4-D inputs (default NHWC, as MindSpore Lite's converter)")
    parser.add_argument("--fp16", choices=("on", "off"), type=str.lower, default="off",
                        help=".ms output: store float32 constants as float16 (converter_lite's --fp16)")
    parser.add_argument("--config-file", "--configFile", dest="config_file",
                        help="MindSpore Lite post-training quantisation config (INI: [common_quant_param] ...)")


def run(args: argparse.Namespace) -> int:
    import litert

    from ._args import parse_input_shapes

    if args.config_file:
        return _quantize(args, parse_input_shapes(args.input_shape))
    report = litert.convert(
        args.model, args.output, fmk=args.fmk, output_format=args.output_format,
        input_shapes=parse_input_shapes(args.input_shape), optimize_level=args.optimize,
        input_format=args.input_format, weight_file=args.weight_file, weight_fp16=args.fp16 == "on",
    )
    print("\n".join(report.lines()))
    return 0


def _quantize(args: argparse.Namespace, input_shapes: dict[str, tuple[int, ...]]) -> int:
    """``--config-file``: post-training quantisation; keys without effect here are printed, not dropped."""
    import sys
    import warnings

    from litert.errors import InputError
    from litert.quant import QuantConfigWarning, load_config, quantize

    if args.input_format:
        raise InputError("--input-format cannot be combined with --config-file yet")
    if args.optimize != "general":
        raise InputError("--optimize none cannot be combined with --config-file (quantisation folds BatchNorm)")
    config = load_config(args.config_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuantConfigWarning)
        report = quantize(args.model, args.output, config, fmk=args.fmk, output_format=args.output_format,
                          input_shapes=input_shapes, weight_fp16=args.fp16 == "on")
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print("\n".join(report.lines()))
    return 0
