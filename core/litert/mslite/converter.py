"""``Converter``: MindSpore Lite 2.x's Python converter on litert's readers and writers.

``convert(fmk_type, model_file, output_file)`` writes ``output_file`` plus
``.ms`` (``save_type=ModelType.MINDIR_LITE``) or ``.mindir``
(``ModelType.MINDIR``, MindSpore Lite 2.0's default), as converter_lite
does.  Attributes are checked when set, with MindSpore Lite's types and
values; those litert cannot honour (fp16 weights in a .mindir, quantised input/output
types, encryption, an Ascend target, converter config files) are refused
when ``convert`` runs, with a RuntimeError saying why - never ignored.
"""
from __future__ import annotations

import configparser
import os
from pathlib import Path

from ..errors import LitertError
from ._checks import Checked, MSLiteRuntimeError, MSLiteValueError, check_config_dict, check_type, one_of, ruled, typed
from .enums import FRONTEND_OF_FMK, WRITER_OF_MODEL_TYPE, DataType, FmkType, Format, ModelType

OPTIMIZE_LEVELS = ("none", "general", "ascend_oriented")
#: input/output data types the converter accepts (quantised models); litert writes float models only
QUANT_IO_TYPES = (DataType.FLOAT32, DataType.INT8, DataType.UINT8, DataType.UNKNOWN)
FLOAT_IO_TYPES = (DataType.FLOAT32, DataType.UNKNOWN)


class Converter:
    """Convert an ONNX or MindIR model (whatever litert has a reader for) to ``.ms`` or ``.mindir``."""

    def __init__(self) -> None:
        self._weight_fp16 = False
        self._input_shape: dict[str, list[int]] = {}
        self._input_format = Format.NHWC
        self._input_data_type = DataType.FLOAT32
        self._output_data_type = DataType.FLOAT32
        self._save_type = ModelType.MINDIR
        self._decrypt_key = ""
        self._decrypt_mode = "AES-GCM"
        self._enable_encryption = False
        self._encrypt_key = ""
        self._infer = False
        self._optimize = "general"
        self._device = ""
        self._config_info: dict[str, dict[str, str]] = {}

    def __str__(self) -> str:
        return (f"config_info: {self._config_info},\nweight_fp16: {self.weight_fp16},\ninput_shape: {self.input_shape},\n"
                f"input_format: {self.input_format},\ninput_data_type: {self.input_data_type},\n"
                f"output_data_type: {self.output_data_type},\nsave_type: {self.save_type},\n"
                f"decrypt_key: {self.decrypt_key},\ndecrypt_mode: {self.decrypt_mode},\n"
                f"enable_encryption: {self.enable_encryption},\nencrypt_key: {self.encrypt_key},\ninfer: {self.infer},\n"
                f"optimize: {self.optimize},\ndevice: {self.device}.")

    # -- attributes (checked as MindSpore Lite checks them) -------------------

    weight_fp16 = typed("weight_fp16", bool)

    @property
    def input_shape(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in self._input_shape.items()}

    @input_shape.setter
    def input_shape(self, value: dict[str, list[int]]) -> None:
        check_type("input_shape", value, dict)
        for name, dims in value.items():
            check_type("input_shape key", name, str)
            check_type(f"input_shape value at key {name}", dims, list)
            for dim in dims:
                check_type(f"input_shape value's element at key {name}", dim, int)
        self._input_shape = {k: list(v) for k, v in value.items()}

    input_format = ruled("input_format", Format, lambda value: value in (Format.NCHW, Format.NHWC),
                         "input_format must be in [Format.NCHW, Format.NHWC].")

    input_data_type = Checked(lambda value: _io_type("input_data_type", value))
    output_data_type = Checked(lambda value: _io_type("output_data_type", value))
    save_type = typed("save_type", ModelType)
    decrypt_key = typed("decrypt_key", str)
    decrypt_mode = one_of("decrypt_mode", ("AES-GCM", "AES-CBC"))
    enable_encryption = typed("enable_encryption", bool)
    encrypt_key = typed("encrypt_key", str)
    infer = typed("infer", bool, "Run the converted model once on zero inputs after writing it.")

    optimize = ruled("optimize", str, lambda value: value in OPTIMIZE_LEVELS,
                     "optimize must be 'none', 'general' or 'ascend_oriented'.")

    device = one_of("device", ("Ascend",))

    def set_config_info(self, section: str = "", config_info: dict[str, str] | None = None) -> None:
        check_type("section", section, str)
        config_info = {} if config_info is None else config_info
        check_config_dict("config_info", {section: config_info})
        self._config_info.setdefault(section, {}).update(config_info)

    def get_config_info(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self._config_info.items()}

    # -- converting -----------------------------------------------------------

    def convert(self, fmk_type: FmkType, model_file: str, output_file: str, weight_file: str = "",
                config_file: str = "") -> None:
        """Read ``model_file`` (a ``fmk_type`` model) and write ``output_file`` + ``.ms``/``.mindir``."""
        check_type("fmk_type", fmk_type, FmkType)
        check_type("model_file", model_file, str)
        check_type("output_file", output_file, str)
        check_type("weight_file", weight_file, str)
        check_type("config_file", config_file, str)
        if not os.path.exists(model_file):
            raise MSLiteRuntimeError(f"Perform convert method failed, model_file does not exist: {model_file}")
        if weight_file and not os.path.exists(weight_file):
            raise MSLiteRuntimeError(f"Perform convert method failed, weight_file does not exist: {weight_file}")
        if config_file and not os.path.exists(config_file):
            raise MSLiteRuntimeError(f"Perform convert method failed, config_file does not exist: {config_file}")
        self._refuse_unsupported(fmk_type, weight_file, config_file)
        writer, suffix = WRITER_OF_MODEL_TYPE[self._save_type]
        try:
            output = convert_file(model_file, output_file + suffix, fmk=FRONTEND_OF_FMK[fmk_type], writer=writer,
                                  input_shapes=self._input_shape, optimize=self._optimize,
                                  input_format=self._input_format.name if writer == "ms" else None,
                                  weight_file=weight_file or None, weight_fp16=self._weight_fp16)
            if self._infer:
                _pre_infer(output)
        except LitertError as err:
            raise MSLiteRuntimeError(f"Converter model failed! model_file is {model_file}, error is {err}") from err

    def _refuse_unsupported(self, fmk_type: FmkType, weight_file: str, config_file: str) -> None:
        """RuntimeError naming the first option litert cannot honour."""
        from ..plugins import host

        reasons = []
        if FRONTEND_OF_FMK[fmk_type] not in host().frontends:
            reasons.append(f"fmk_type {fmk_type}: litert has no {FRONTEND_OF_FMK[fmk_type]} reader installed "
                           f"(its readers: {', '.join(sorted(host().frontends))})")
        if weight_file and fmk_type is not FmkType.CAFFE:
            reasons.append(f"weight_file is for Caffe models, not fmk_type {fmk_type}")
        if self._weight_fp16 and self._save_type is not ModelType.MINDIR_LITE:
            reasons.append("weight_fp16=True applies to .ms output (save_type=ModelType.MINDIR_LITE) in litert")
        if self._input_data_type not in FLOAT_IO_TYPES or self._output_data_type not in FLOAT_IO_TYPES:
            reasons.append("quantised input/output data types: litert writes float models")
        if self._optimize == "ascend_oriented":
            reasons.append("optimize='ascend_oriented' needs MindSpore Lite's Ascend toolchain")
        if self._device:
            reasons.append(f"device={self._device!r}: litert does not convert for Ascend (OM/ACL)")
        if self._enable_encryption or self._encrypt_key:
            reasons.append("encryption: litert writes unencrypted models")
        if self._decrypt_key:
            reasons.append("decrypt_key: litert cannot read encrypted MindIR files")
        sections = dict(self._config_info)
        if config_file:
            sections.update({s: {} for s in _config_sections(config_file)})
        if sections:
            reasons.append(f"converter config sections {', '.join(f'[{s}]' for s in sections)} (quantisation, "
                           "plugins, Micro): litert's converter does not apply them")
        if self._save_type is ModelType.MINDIR and self._input_format is not Format.NHWC:
            reasons.append("input_format applies to .ms output (save_type=ModelType.MINDIR_LITE) in litert")
        if reasons:
            raise MSLiteRuntimeError("Converter model failed! " + "; ".join(reasons))


def _io_type(name: str, value: DataType) -> DataType:
    check_type(name, value, DataType)
    if value not in QUANT_IO_TYPES:
        raise MSLiteValueError(f"{name} must be in [DataType.FLOAT32, DataType.INT8, DataType.UINT8, "
                               "DataType.UNKNOWN].")
    return value


def _config_sections(path: str) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(path)
    except configparser.Error as err:
        raise MSLiteRuntimeError(f"Converter model failed! config_file {path}: {err}") from None
    return parser.sections()


def convert_file(model_file: str, output: str, *, fmk: str | None, writer: str,
                 input_shapes: dict[str, list[int]], optimize: str, input_format: str | None,
                 weight_file: str | None = None, weight_fp16: bool = False) -> Path:
    """The conversion converter_lite (CLI and Python) performs: read, optimise, write (atomically)."""
    import litert

    litert.convert(model_file, output, fmk=fmk, output_format=writer,
                   input_shapes={k: tuple(v) for k, v in input_shapes.items()},
                   optimize_level=optimize, input_format=input_format, weight_file=weight_file,
                   weight_fp16=weight_fp16)
    return Path(output)


def _pre_infer(path: Path) -> None:
    """converter_lite's ``--infer``: build the written model and run it once on zero inputs."""
    import numpy as np

    import litert

    session = litert.load(path)
    feeds = []
    for info in session.inputs:
        dims = [d for d in info.shape or () if isinstance(d, int)]
        if info.shape is None or len(dims) != len(info.shape) or info.dtype is None:
            raise MSLiteRuntimeError(f"infer: input {info.name!r} has dynamic dims {info.shape}; set input_shape")
        feeds.append(np.zeros(dims, info.dtype.numpy))
    session.predict(feeds)
