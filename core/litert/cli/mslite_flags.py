"""MindSpore Lite's ``converter_lite`` and ``benchmark`` flags, and what litert does with each.

One table per tool; every flag of MindSpore Lite's reference is a row, so
a script written for MindSpore Lite's tools either runs or stops with one
line naming the flag and why.  A row's ``apply`` translates the value into
litert's arguments (or the :class:`litert.mslite.Converter` attributes) and
raises :class:`InputError` to refuse it; ``status`` and ``reason`` are what
``docs/mindspore-lite-compat.md`` lists (a test checks the two agree and
exercises every row).

Flags are spelled as MindSpore Lite spells them (``--modelFile=m.onnx``;
``--modelFile m.onnx`` works too).  Booleans take ``true/false`` (and
``on/off``, as ``--fp16`` does).
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from litert.errors import InputError

#: statuses: every value works / accepted with a note on stderr that it changes nothing in litert /
#: values other than MindSpore Lite's default are refused / some values are refused (the reason says which)
ACCEPTED = "accepted"
IGNORED = "accepted, no effect"
REFUSED = "refused"
PARTLY = "some values refused"

#: a row's translation: ``apply(value, target)``; ``target`` is the tool's namespace of litert arguments
Apply = Callable[[str, Any], None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class Flag:
    name: str
    default: str
    status: str
    reason: str
    apply: Apply

    @property
    def option(self) -> str:
        return f"--{self.name}"


def parse_bool(flag: str, value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "on", "1"):
        return True
    if text in ("false", "off", "0"):
        return False
    raise InputError(f"--{flag}={value}: expected true or false")


def _refuse(flag: str, value: str, reason: str) -> None:
    raise InputError(f"--{flag}={value} is not supported: {reason}")


def _note(flag: str, value: str, reason: str) -> None:
    print(f"litert: --{flag}={value} has no effect: {reason}", file=sys.stderr)


def _choice(flag: str, value: str, allowed: dict[str, _T]) -> _T:
    """The mapped value of ``value`` (case-insensitive), or InputError listing the choices."""
    for key, mapped in allowed.items():
        if key.lower() == value.strip().lower():
            return mapped
    raise InputError(f"--{flag}={value}: expected one of {', '.join(allowed)}")


def _set(dest: str, parse: Callable[[str], object] = str) -> Apply:
    def apply(value: str, target: Any) -> None:
        setattr(target, dest, parse(value))
    return apply


def _refuse_unless(flag: str, defaults: tuple[str, ...], reason: str) -> Apply:
    """Accept the values that change nothing, refuse the rest."""
    def apply(value: str, target: Any) -> None:
        if value.strip().lower() not in defaults:
            _refuse(flag, value, reason)
    return apply


def _ignore_unless(flag: str, defaults: tuple[str, ...], reason: str) -> Apply:
    """Accept every value; one that would change something in MindSpore Lite gets a note on stderr."""
    def apply(value: str, target: Any) -> None:
        if value.strip().lower() not in defaults:
            _note(flag, value, reason)
    return apply


def _row(name: str, default: str, status: str, reason: str, apply: Apply | None = None) -> Flag:
    """A table row; without ``apply``, the default value passes and others are refused or noted by ``status``."""
    if apply is None:
        defaults = ("", '""') if default == '""' else (default.lower(),)
        apply = {REFUSED: _refuse_unless, IGNORED: _ignore_unless}[status](name, defaults, reason)
    return Flag(name, default, status, reason, apply)


# ---------------------------------------------------------------- converter_lite


def _converter_table() -> list[Flag]:
    from litert.mslite import DataType, FmkType, Format, ModelType

    def attr(name: str, parse: Callable[[str], object]) -> Apply:
        return lambda value, target: setattr(target.converter, name, parse(value))

    fmks = {"TF": FmkType.TF, "TFLITE": FmkType.TFLITE, "CAFFE": FmkType.CAFFE, "MINDIR": FmkType.MINDIR,
            "ONNX": FmkType.ONNX, "PYTORCH": FmkType.PYTORCH}

    def fmk(value: str, target: Any) -> None:
        if value.strip().upper() in ("MSLITE", "OM"):
            _refuse("fmk", value, "MSLITE input is for Micro code generation and OM for Ascend; litert has neither")
        target.fmk = _choice("fmk", value, fmks)

    data_types = {"DEFAULT": DataType.UNKNOWN, "FLOAT": DataType.FLOAT32, "FLOAT16": DataType.FLOAT16,
                  "INT8": DataType.INT8, "UINT8": DataType.UINT8, "INT32": DataType.INT32, "INT64": DataType.INT64}

    def io_type(flag: str, attribute: str) -> Apply:
        def apply(value: str, target: Any) -> None:
            chosen = _choice(flag, value, data_types)
            if chosen not in (DataType.UNKNOWN, DataType.FLOAT32):
                _refuse(flag, value, "quantised input/output types need a quantised model; litert writes float models")
            setattr(target.converter, attribute, chosen)
        return apply

    def optimize(value: str, target: Any) -> None:
        level = _choice("optimize", value, {"none": "none", "general": "general", "gpu_oriented": "gpu_oriented",
                                            "ascend_oriented": "ascend_oriented"})
        if level in ("gpu_oriented", "ascend_oriented"):
            _refuse("optimize", value, "GPU- and Ascend-specific passes need those back ends; use general or none")
        target.converter.optimize = level

    def input_shape(value: str, target: Any) -> None:
        from ._args import parse_input_shapes

        target.converter.input_shape = {k: list(v) for k, v in parse_input_shapes(value).items()}

    return [
        _row("fmk", "(mandatory)", PARTLY, "ONNX, MINDIR, TFLITE, TF (frozen GraphDef) and CAFFE (litert's "
             "readers); PYTORCH when a plugin adds the reader, else refused naming it; MSLITE and OM refused", fmk),
        _row("modelFile", '""', ACCEPTED, "the model to convert", _set("model_file")),
        _row("outputFile", '""', ACCEPTED, "output path; .ms (or .mindir) is appended", _set("output_file")),
        _row("weightFile", '""', PARTLY, "the .caffemodel of a Caffe net (--fmk=CAFFE); refused with other formats",
             _set("weight_file")),
        _row("configFile", '""', REFUSED, "quantisation, Micro and plugin sections are not applied by litert's "
             "converter", _set("config_file")),
        _row("fp16", "off", ACCEPTED, "on: float32 constants stored as float16 in the .ms (integer and quantised "
             "ones unchanged), as converter_lite does", attr("weight_fp16", lambda v: parse_bool("fp16", v))),
        _row("inputShape", '""', ACCEPTED, "fixes input dims (name:d0,d1;...)", input_shape),
        _row("inputDataFormat", "NHWC", ACCEPTED, "layout of 4-D inputs of the .ms",
             attr("input_format", lambda v: _choice("inputDataFormat", v, {"NHWC": Format.NHWC, "NCHW": Format.NCHW}))),
        _row("outputDataFormat", '""', REFUSED, "litert keeps the source model's output layout"),
        _row("inputDataType", "DEFAULT", PARTLY, "FLOAT and DEFAULT accepted (float models); quantised types refused",
             io_type("inputDataType", "input_data_type")),
        _row("outputDataType", "DEFAULT", PARTLY, "FLOAT and DEFAULT accepted (float models); quantised types refused",
             io_type("outputDataType", "output_data_type")),
        _row("saveType", "MINDIR_LITE", ACCEPTED, "MINDIR_LITE writes .ms, MINDIR writes .mindir",
             attr("save_type", lambda v: _choice("saveType", v, {"MINDIR_LITE": ModelType.MINDIR_LITE,
                                                                 "MINDIR": ModelType.MINDIR}))),
        _row("optimize", "general", PARTLY, "none and general; gpu_oriented and ascend_oriented refused", optimize),
        _row("optimizeTransformer", "false", REFUSED, "no Fast-Transformer fusion in litert"),
        _row("trainModel", "false", REFUSED, "litert converts inference models only"),
        _row("decryptKey", '""', REFUSED, "litert cannot read encrypted MindIR files"),
        _row("decryptMode", "AES-GCM", IGNORED, "only used with --decryptKey, which is refused",
             _ignore_unless("decryptMode", ("aes-gcm",), "only used with --decryptKey, which litert refuses")),
        _row("encryptKey", '""', REFUSED, "litert writes unencrypted models"),
        _row("encryption", "false", REFUSED, "litert writes unencrypted models"),
        _row("infer", "false", ACCEPTED, "runs the converted model once on zero inputs",
             attr("infer", lambda v: parse_bool("infer", v))),
        _row("device", '""', REFUSED, "Ascend (OM/ACL) conversion needs MindSpore Lite's Ascend toolchain"),
    ]


# ---------------------------------------------------------------- benchmark

#: MindSpore Lite's --device values -> litert backend order (None: every backend by priority)
DEVICES = {"CPU": ["cpu"], "NPU": ["kirin_npu"], "Ascend": ["ascend"], "Ascend310": ["ascend"],
           "Ascend310P": ["ascend"], "Auto": None}


def _benchmark_table() -> list[Flag]:
    def device(value: str, target: Any) -> None:
        """MindSpore Lite's device names, else litert's own backend order (``ascend,cpu``)."""
        if value.strip().upper() == "GPU":
            _refuse("device", value, "litert has no GPU back end")
        for name, backends in DEVICES.items():
            if name.lower() == value.strip().lower():
                target.device = ",".join(backends) if backends else None
                return
        target.device = value

    def in_data(value: str, target: Any) -> None:
        target.in_data = [p for p in re.split(r"[\s,]+", value) if p]

    def model_type(value: str, target: Any) -> None:
        target.msl_model_type = _choice("modelType", value, {"MindIR": "mindir", "MindIR_Lite": "ms"})

    def input_shapes_old(value: str, target: Any) -> None:
        target.msl_positional_shapes = [tuple(int(d) for d in part.split(",") if d) for part in value.split(":") if part]

    def cosine(value: str, target: Any) -> None:
        threshold = float(value)
        target.cosine_threshold = threshold if threshold > -1 else None

    def bench_type(value: str, target: Any) -> None:
        _choice("benchmarkDataType", value, {"FLOAT": 0, "INT32": 0, "INT8": 0, "UINT8": 0})

    no_bind = "litert does not bind threads to cores"

    def bind_mode(value: str, target: Any) -> None:
        if _choice("cpuBindMode", value, {"0": 0, "1": 1, "2": 2}):
            _note("cpuBindMode", value, no_bind)
    return [
        _row("modelFile", '""', ACCEPTED, "the model (any format litert reads)", _set("model")),
        _row("modelType", "MindIR", ACCEPTED, "checked against the file's format (MindIR_Lite for .ms)", model_type),
        _row("inDataFile", "(random)", ACCEPTED, "raw .bin (or .npy/.npz) per input, split on commas or spaces",
             in_data),
        _row("configFile", '""', REFUSED, "runtime config sections ([execution_plan] ...) are not applied by litert"),
        _row("device", "CPU", PARTLY, "CPU, NPU (kirin_npu), Ascend, Auto; GPU refused (no GPU back end)", device),
        _row("provider", "litert", REFUSED, "litert is the only provider (tensorrt and mindrt are refused)"),
        _row("cpuBindMode", "1", IGNORED, no_bind, bind_mode),
        _row("cpuCoreList", '""', IGNORED, no_bind),
        _row("numThreads", "2", ACCEPTED, "intra-op threads", _set("threads", int)),
        _row("interOpParallelNum", "1", IGNORED, "litert runs one operator at a time"),
        _row("loopCount", "10", ACCEPTED, "timed runs", _set("loop_count", int)),
        _row("warmUpLoopCount", "3", ACCEPTED, "untimed warm-up runs", _set("warmup_loop_count", int)),
        _row("enableFp16", "false", IGNORED, "litert's CPU kernels compute in float32 (MindSpore Lite also falls back "
             "to fp32 off ARMv8.2)"),
        _row("enableParallel", "false", IGNORED, "litert runs one subgraph at a time"),
        _row("timeProfiling", "false", ACCEPTED, "per-operator and per-op-type time tables",
             _set("time_profiling", lambda v: parse_bool("timeProfiling", v))),
        _row("perfProfiling", "false", REFUSED, "PMU counters are aarch64-only in MindSpore Lite; litert has none"),
        _row("perfEvent", "CYCLE", IGNORED, "only used with --perfProfiling, which is refused"),
        _row("benchmarkDataFile", '""', ACCEPTED, "MindSpore Lite's calibration file (or .npz/.npy)",
             _set("benchmark_data")),
        _row("benchmarkDataType", "FLOAT", ACCEPTED, "FLOAT, INT32, INT8, UINT8: values are compared as numbers",
             bench_type),
        _row("accuracyThreshold", "0.5", ACCEPTED, "maximum mean bias, percent (litert fails when any tensor is over "
             "it, MindSpore Lite when their average is)", _set("accuracy_threshold", float)),
        _row("cosineDistanceThreshold", "-1.1", ACCEPTED, "cosine check, active when > -1", cosine),
        _row("inputShapes", '""', ACCEPTED, "old form d0,d1:d0,d1 in input order", input_shapes_old),
        _row("inputShape", '""', ACCEPTED, "name:d0,d1;name2:... (as litert's --input-shape)", _set("input_shapes")),
        _row("decryptKey", '""', REFUSED, "litert cannot read encrypted models"),
        _row("cryptoLibPath", '""', IGNORED, "only used with --decryptKey, which is refused"),
        _row("enableParallelPredict", "false", REFUSED, "use litert.mslite.ModelParallelRunner (Python) for "
             "parallel serving"),
        _row("parallelNum", "2", IGNORED, "only used with --enableParallelPredict, which is refused"),
        _row("parallelTaskNum", "2", IGNORED, "only used with --enableParallelPredict, which is refused"),
        _row("workersNum", "2", IGNORED, "only used with --enableParallelPredict, which is refused"),
        _row("enableSharedThreadPool", "false", REFUSED, "no shared thread pool between parallel workers"),
        _row("threadNumLimitPerWorker", '""', IGNORED, "only used with --enableSharedThreadPool, which is refused"),
        _row("threadNumRemainingPerWorker", '""', IGNORED, "only used with --enableSharedThreadPool, which is refused"),
        _row("enableGLTexture", "false", REFUSED, "OpenGL texture I/O needs the GPU back end litert does not have"),
        _row("delegateMode", '""', REFUSED, "CoreML and NNAPI delegates do not exist on litert's platforms"),
        _row("deviceId", "-1", REFUSED, "litert picks the device itself (Ascend device selection is not exposed)"),
        _row("rankId", "-1", REFUSED, "no distributed inference in litert"),
        _row("GroupInfoFile", '""', REFUSED, "no distributed inference in litert"),
    ]


CONVERTER_FLAGS: list[Flag] = []
BENCHMARK_FLAGS: list[Flag] = []


def converter_flags() -> list[Flag]:
    if not CONVERTER_FLAGS:
        CONVERTER_FLAGS.extend(_converter_table())
    return CONVERTER_FLAGS


def benchmark_flags() -> list[Flag]:
    if not BENCHMARK_FLAGS:
        BENCHMARK_FLAGS.extend(_benchmark_table())
    return BENCHMARK_FLAGS


def add_flags(parser: argparse.ArgumentParser, flags: list[Flag], title: str) -> None:
    """Each flag as an option taking one value (kept as text: ``apply`` parses it)."""
    group = parser.add_argument_group(title)
    for flag in flags:
        group.add_argument(flag.option, dest=f"msl_{flag.name}", metavar="VALUE", default=None,
                           help=f"{flag.status}: {flag.reason} (MindSpore Lite default {flag.default})")


def apply_flags(args: argparse.Namespace, flags: list[Flag], target: Any) -> bool:
    """Translate every MindSpore Lite flag given on the command line; True when any was."""
    given = False
    for flag in flags:
        value = getattr(args, f"msl_{flag.name}", None)
        if value is not None:
            flag.apply(value, target)
            given = True
    return given
