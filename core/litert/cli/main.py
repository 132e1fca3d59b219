"""``litert`` entry point: argument parsing and error reporting only.

Each command lives in its own module and is imported when it runs, so
``litert --help`` never loads a plugin (a broken one cannot break it).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: command name -> (module under litert.cli, one-line help)
COMMANDS = {
    "list-backends": ("listing", "show installed backends, their status and operator coverage"),
    "list-frontends": ("listing", "show installed model readers"),
    "list-formats": ("listing", "show installed model readers and writers"),
    "convert": ("convert_cmd", "convert and optimise a model"),
    "run": ("run_cmd", "run a model on inputs from .npy/.npz files"),
    "info": ("info_cmd", "describe a model: inputs, outputs, operators, weights, memory"),
    "benchmark": ("benchmark_cmd", "time a model: latency, per-operator profile, memory, accuracy vs reference data"),
    "compare": ("compare_cmd", "run a model and a reference model, report where their tensors diverge"),
    "converter_lite": ("converter_lite_cmd", "convert with MindSpore Lite converter_lite's flags (--fmk=ONNX "
                       "--modelFile=m.onnx --outputFile=m)"),
    "quant-report": ("quant_report_cmd", "rank layers by quantisation loss (cosine, SQNR) and propose skip_quant_node"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="litert", description="litert: plugin-based neural-network inference engine")
    parser.add_argument("--version", action="version", version=f"litert {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=text, description=text)
        importlib.import_module(f"litert.cli.{module}").add_arguments(name, cmd)
    return parser


def _version() -> str:
    from litert import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from litert.errors import LitertError

    module = importlib.import_module(f"litert.cli.{COMMANDS[args.command][0]}")
    try:
        return int(module.run(args) or 0)
    except LitertError as err:
        print(f"litert {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("litert: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"litert {args.command}: error: {err}", file=sys.stderr)
        return 1


def converter_lite() -> int:
    """The ``converter_lite`` console script: ``litert converter_lite`` under MindSpore Lite's tool name."""
    return main(["converter_lite", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
