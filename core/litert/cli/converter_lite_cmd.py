"""``litert converter_lite``: MindSpore Lite's converter command line, flags verbatim.

    litert converter_lite --fmk=ONNX --modelFile=m.onnx --outputFile=m [--inputDataFormat=NCHW ...]

writes ``m.ms`` and prints ``CONVERT RESULT SUCCESS:0`` as converter_lite
does (``CONVERT RESULT FAILED:-1`` and the reason on failure).  The flags
and what litert does with each are in :mod:`litert.cli.mslite_flags`; the
conversion itself is :class:`litert.mslite.Converter`'s.
"""
from __future__ import annotations

import argparse
from types import SimpleNamespace


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    from .mslite_flags import add_flags, converter_flags

    add_flags(parser, converter_flags(), "MindSpore Lite converter_lite flags (--name=value)")


def run(args: argparse.Namespace) -> int:
    from litert.errors import InputError, LitertError
    from litert.mslite import Converter, ModelType

    from .mslite_flags import apply_flags, converter_flags

    converter = Converter()
    converter.save_type = ModelType.MINDIR_LITE  # converter_lite's default (the Python API's is MINDIR)
    target = SimpleNamespace(converter=converter, fmk=None, model_file=None, output_file=None, weight_file="",
                             config_file="")
    try:
        apply_flags(args, converter_flags(), target)
        for flag, value in (("--fmk", target.fmk), ("--modelFile", target.model_file),
                            ("--outputFile", target.output_file)):
            if not value:
                raise InputError(f"{flag} is required (e.g. --fmk=ONNX --modelFile=m.onnx --outputFile=m)")
        converter.convert(target.fmk, target.model_file, target.output_file, target.weight_file, target.config_file)
    except LitertError:
        print("CONVERT RESULT FAILED:-1")
        raise
    print("CONVERT RESULT SUCCESS:0")
    return 0
