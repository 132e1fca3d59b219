"""``litert quant-report``: per-layer quantisation loss, worst first, and a skip_quant_node proposal."""
from __future__ import annotations

import argparse


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the float model")
    parser.add_argument("--config-file", "--configFile", dest="config_file", required=True,
                        help="MindSpore Lite quantisation config; its [data_preprocess_param] gives the samples")
    parser.add_argument("--fmk", help="source format (onnx, ...); default: from the file")
    parser.add_argument("--input-shape", help="fix input dims: name:1,3,224,224;other:1,128")
    parser.add_argument("--propose", type=int, default=3, help="propose at most this many layers to skip (3)")
    parser.add_argument("--min-sqnr", type=float, default=30.0,
                        help="propose only layers below this SQNR in dB (30)")


def run(args: argparse.Namespace) -> int:
    import sys
    import warnings

    from litert.quant import QuantConfigWarning, load_config
    from litert.quant.report import layer_losses, report_lines

    from ._args import parse_input_shapes

    config = load_config(args.config_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuantConfigWarning)
        losses = layer_losses(args.model, config, fmk=args.fmk, input_shapes=parse_input_shapes(args.input_shape))
    for line in config.no_effect:
        print(f"warning: {line}", file=sys.stderr)
    del caught
    print("\n".join(report_lines(losses, args.propose, args.min_sqnr)))
    return 0
