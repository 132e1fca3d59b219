"""``litert`` entry point: argument parsing and error reporting only.

Each command lives in its own module and is imported when it runs, so
``litert --help`` never loads a plugin (a broken one cannot break it).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
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
        status = int(module.run(args) or 0)
        sys.stdout.flush()  # a reader that left early (`litert info m.ms | head -1`) shows up here at the latest
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except LitertError as err:
        print(f"litert {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("litert: interrupted", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"litert {args.command}: error: {err}", file=sys.stderr)
        return 1


#: exit status when the reader of stdout went away: 128 + SIGPIPE, what ``cat`` or ``grep`` report then
EXIT_BROKEN_PIPE = 141


def _reader_went_away() -> int:
    """Stop quietly when stdout's reader closed the pipe, as Unix tools do: no traceback, no "Broken pipe".

    stdout is pointed at /dev/null so the interpreter's final flush of what is still buffered cannot fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file descriptor (captured in-process): nothing to redirect
        pass
    return EXIT_BROKEN_PIPE


def converter_lite() -> int:
    """The ``converter_lite`` console script: ``litert converter_lite`` under MindSpore Lite's tool name."""
    return main(["converter_lite", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
