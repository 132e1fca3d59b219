"""MindSpore Lite's post-training quantisation config file (converter ``--configFile``), read as it is.

The file is INI: ``[section]`` headers, ``key=value`` lines, ``#`` comments.  Every section and key of
MindSpore Lite's quantisation (reference ``mindspore-lite.md`` §3) is known here, in one table
(:data:`SECTIONS`): how its value parses, its default, and whether litert acts on it.  An unknown
section or key, or a bad value, raises :class:`~litert.errors.QuantConfigError` with one line naming
file, line, section and key.  A key litert accepts but does not act on (``target_device=ASCEND``,
``enable_encode``...) is listed in :attr:`QuantConfig.no_effect`, which the CLI prints and
:func:`litert.quantize` turns into warnings: nothing is dropped silently.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QuantConfigError

QUANT_TYPES = ("WEIGHT_QUANT", "FULL_QUANT", "DYNAMIC_QUANT")
ACTIVATION_METHODS = ("MAX_MIN", "KL", "REMOVAL_OUTLIER")


class _BadValue(ValueError):
    """A value that does not parse; the message says what was expected."""


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise _BadValue(f"{text!r} is not true or false")
    return lowered == "true"


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise _BadValue(f"{text!r} is not an integer") from None
        if not low <= number <= high:
            raise _BadValue(f"{number} is outside {low}..{high}")
        return number
    return parse


def _real(low: float, high: float, *, open_interval: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            number = float(text.strip())
        except ValueError:
            raise _BadValue(f"{text!r} is not a number") from None
        inside = low < number < high if open_interval else low <= number <= high
        if not inside:
            raise _BadValue(f"{number} is outside {'(' if open_interval else '['}{low}, {high}{')' if open_interval else ']'}")
        return number
    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if value not in choices:
            raise _BadValue(f"{value!r} is not one of {', '.join(choices)}")
        return value
    return parse


def _text(text: str) -> str:
    value = text.strip()
    if not value:
        raise _BadValue("is empty")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _float_list(text: str) -> tuple[float, ...]:
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        raise _BadValue(f"{text!r} is not a list like [0.5,0.5,0.5]")
    try:
        return tuple(float(part) for part in stripped[1:-1].split(",") if part.strip())
    except ValueError:
        raise _BadValue(f"{text!r} is not a list of numbers") from None


def _calibrate_paths(text: str) -> dict[str, str]:
    """``in1:/dir1,in2:/dir2`` -> {input name: folder}.  The folder may contain ':' (split at the first)."""
    paths: dict[str, str] = {}
    for part in text.split(","):
        name, sep, folder = part.strip().partition(":")
        if not sep or not name or not folder:
            raise _BadValue(f"{part.strip()!r} is not input_name:folder")
        paths[name] = folder
    return paths


@dataclass(frozen=True)
class Key:
    """One config key: its parser, default, and why it has no effect here (None when litert acts on it)."""

    parse: Callable[[str], Any]
    default: Any = None
    no_effect: str | None = None


#: section -> key -> Key.  Keys and value ranges follow MindSpore Lite's parser (reference §3).
SECTIONS: dict[str, dict[str, Key]] = {
    "common_quant_param": {
        "quant_type": Key(_choice(*QUANT_TYPES)),
        "bit_num": Key(_integer(0, 16), 8),
        "min_quant_weight_size": Key(_integer(0, 65535), 0),
        "min_quant_weight_channel": Key(_integer(0, 65535), 16),
        "skip_quant_node": Key(_names, ()),
        "debug_info_save_path": Key(_text),
        "enable_encode": Key(_boolean, True, "weight compression coding is not implemented; weights are stored "
                                              "as plain int8/int16"),
        "workspace": Key(_text, None, "models over 2 GB are not handled specially"),
    },
    "weight_quant_param": {
        "per_channel": Key(_boolean, True),
        "bias_correction": Key(_boolean, True),
        "dequant_strategy": Key(_choice("ON_THE_FLY"), None, "an Ascend-only option"),
        "quant_strategy": Key(_choice("MAX_MIN", "GPTQ"), "MAX_MIN"),
        "update_mindir": Key(_boolean, True, "a MindIR-only option"),
        "max_segments": Key(_integer(1, 65535), 1, "a GPTQ option (GPTQ is not implemented)"),
    },
    "mixed_bit_weight_quant_param": {
        "init_scale": Key(_real(0.0, 1.0, open_interval=True), 0.02, "mixed-bit search is not implemented"),
        "auto_tune": Key(_boolean, False, "mixed-bit search is not implemented"),
        "use_cv_data": Key(_boolean, False, "mixed-bit search is not implemented"),
        "max_iterations": Key(_integer(1, 65535), 100, "mixed-bit search is not implemented"),
    },
    "full_quant_param": {
        "activation_quant_method": Key(_choice(*ACTIVATION_METHODS), "MAX_MIN"),
        "bias_correction": Key(_boolean, True),
        "per_channel": Key(_boolean, True),
        "target_device": Key(_choice("KIRIN", "NVGPU", "DSP", "ASCEND"), None,
                             "litert writes one CPU-style int8 graph whatever the target"),
        "smooth_alpha": Key(_real(0.0, 1.0), 0.5, "SmoothQuant is not implemented"),
        "enable_smooth_shift": Key(_boolean, False, "SmoothQuant is not implemented"),
    },
    "data_preprocess_param": {
        "calibrate_path": Key(_calibrate_paths),
        "calibrate_size": Key(_integer(1, 65535)),
        "input_type": Key(_choice("IMAGE", "BIN")),
        "image_to_format": Key(_choice("RGB", "GRAY", "BGR")),
        "normalize_mean": Key(_float_list),
        "normalize_std": Key(_float_list),
        "resize_width": Key(_integer(1, 65535)),
        "resize_height": Key(_integer(1, 65535)),
        "resize_method": Key(_choice("LINEAR", "NEAREST", "CUBIC"), "LINEAR"),
        "center_crop_width": Key(_integer(1, 65535)),
        "center_crop_height": Key(_integer(1, 65535)),
    },
    "dynamic_quant_param": {
        "quant_strategy": Key(_choice("ALWC", "ACWL"), "ALWC"),
    },
}

#: converter sections that configure other things than quantisation: accepted, reported as no effect
OTHER_SECTIONS = {
    "transform_quant_param": "export precision modes are not implemented",
    "micro_param": "Micro code generation is not part of quantisation",
    "model_param": "multi-model Micro settings",
    "registry": "converter plugins/fusion switches",
    "cpu_option_cfg_param": "ARM64 compile options",
    "acl_option_cfg_param": "Ascend options",
    "ascend_context": "Ascend options",
    "graph_kernel_param": "graph-kernel options",
}


@dataclass
class QuantConfig:
    """A parsed quantisation config: ``values[section][key]`` (defaults filled in) plus what had no effect."""

    values: dict[str, dict[str, Any]]
    #: one line per accepted key or section that changes nothing here
    no_effect: list[str] = field(default_factory=list)
    source: str = "<config>"

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    @property
    def quant_type(self) -> str:
        return str(self.values["common_quant_param"]["quant_type"])

    @property
    def bit_num(self) -> int:
        return int(self.values["common_quant_param"]["bit_num"])

    @property
    def skip_nodes(self) -> frozenset[str]:
        return frozenset(self.values["common_quant_param"]["skip_quant_node"])

    @property
    def activation_method(self) -> str:
        return str(self.values["full_quant_param"]["activation_quant_method"])

    @property
    def per_channel(self) -> bool:
        section = "weight_quant_param" if self.quant_type == "WEIGHT_QUANT" else "full_quant_param"
        return bool(self.values[section]["per_channel"])

    @property
    def debug_dir(self) -> str | None:
        path = self.values["common_quant_param"]["debug_info_save_path"]
        return None if path is None else str(path)

    @property
    def preprocess(self) -> dict[str, Any]:
        return self.values["data_preprocess_param"]


_SECTION = re.compile(r"^\[\s*([A-Za-z0-9_]+)\s*\]$")


def parse_config(text: str, source: str = "<config>") -> QuantConfig:
    """Parse config text; raise :class:`QuantConfigError` on the first problem (one line)."""
    values = {section: {name: key.default for name, key in keys.items()} for section, keys in SECTIONS.items()}
    given: dict[str, set[str]] = {section: set() for section in SECTIONS}
    no_effect: list[str] = []
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            if section in OTHER_SECTIONS:
                no_effect.append(f"[{section}] has no effect on quantisation here ({OTHER_SECTIONS[section]})")
            elif section not in SECTIONS:
                raise QuantConfigError(f"{where}: unknown section [{section}] (known: "
                                       f"{', '.join(sorted(SECTIONS) + sorted(OTHER_SECTIONS))})")
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise QuantConfigError(f"{where}: {line!r} is not key=value")
        if section is None:
            raise QuantConfigError(f"{where}: key {name!r} comes before any [section]")
        if section in OTHER_SECTIONS:
            continue
        keys = SECTIONS[section]
        if name not in keys:
            raise QuantConfigError(f"{where}: [{section}] unknown key {name!r} (known: {', '.join(keys)})")
        if name in given[section]:
            raise QuantConfigError(f"{where}: [{section}] {name} is given twice")
        try:
            values[section][name] = keys[name].parse(value)
        except _BadValue as err:
            raise QuantConfigError(f"{where}: [{section}] {name}: {err}") from None
        given[section].add(name)
        if keys[name].no_effect:
            no_effect.append(f"[{section}] {name}={value.strip()} has no effect here: {keys[name].no_effect}")
    config = QuantConfig(values, no_effect, source)
    _check_consistency(config, given)
    return config


def _check_consistency(config: QuantConfig, given: dict[str, set[str]]) -> None:
    """Rules that tie keys together (MindSpore Lite's converter enforces the same)."""
    source = config.source
    if "quant_type" not in given["common_quant_param"]:
        raise QuantConfigError(f"{source}: [common_quant_param] quant_type is required "
                               f"({', '.join(QUANT_TYPES)})")
    quant_type, bits = config.quant_type, config.bit_num
    if quant_type != "WEIGHT_QUANT" and bits != 8:
        raise QuantConfigError(f"{source}: [common_quant_param] bit_num: {quant_type} takes 8, not {bits}")
    if quant_type == "WEIGHT_QUANT" and bits == 0:
        raise QuantConfigError(f"{source}: [common_quant_param] bit_num: 0 (mixed-bit search) is not "
                               "implemented in litert; give a fixed bit_num of 1..16")
    if config.get("weight_quant_param", "quant_strategy") == "GPTQ":
        raise QuantConfigError(f"{source}: [weight_quant_param] quant_strategy: GPTQ is not implemented in "
                               "litert (MAX_MIN is)")
    if quant_type == "DYNAMIC_QUANT" and config.get("dynamic_quant_param", "quant_strategy") == "ACWL":
        raise QuantConfigError(f"{source}: [dynamic_quant_param] quant_strategy: ACWL (per-channel activations) "
                               "is not implemented in litert (ALWC is)")
    if quant_type == "FULL_QUANT":
        for key in ("calibrate_path", "calibrate_size", "input_type"):
            if key not in given["data_preprocess_param"]:
                raise QuantConfigError(f"{source}: [data_preprocess_param] {key} is required for FULL_QUANT")
    for section in ("full_quant_param", "data_preprocess_param"):
        if given[section] and quant_type != "FULL_QUANT":
            config.no_effect.append(f"[{section}] has no effect with quant_type={quant_type}")
    for section, used_by in (("weight_quant_param", "WEIGHT_QUANT"), ("dynamic_quant_param", "DYNAMIC_QUANT")):
        if given[section] and quant_type != used_by:
            config.no_effect.append(f"[{section}] has no effect with quant_type={quant_type}")
    for section, used_by in (("weight_quant_param", "WEIGHT_QUANT"), ("full_quant_param", "FULL_QUANT")):
        if quant_type == used_by and config.get(section, "bias_correction"):
            config.no_effect.append(f"[{section}] bias_correction=true (the default) has no effect here: litert "
                                    "does not correct biases (set it to false to silence this)")
    if config.debug_dir:
        config.no_effect.append("[common_quant_param] debug_info_save_path: litert writes quant_param.csv there, "
                                "not output_summary.csv or round_*.csv")
    preprocess = config.preprocess
    if preprocess["input_type"] == "BIN":
        image_keys = sorted(k for k in given["data_preprocess_param"]
                            if k not in ("calibrate_path", "calibrate_size", "input_type"))
        if image_keys:
            config.no_effect.append(f"[data_preprocess_param] {', '.join(image_keys)} have no effect with "
                                    "input_type=BIN")
    for mean_or_std in ("normalize_mean", "normalize_std"):
        other = "normalize_std" if mean_or_std == "normalize_mean" else "normalize_mean"
        if preprocess[mean_or_std] is not None and preprocess[other] is None:
            raise QuantConfigError(f"{source}: [data_preprocess_param] {mean_or_std} needs {other}")
    if preprocess["normalize_std"] is not None and any(s == 0 for s in preprocess["normalize_std"]):
        raise QuantConfigError(f"{source}: [data_preprocess_param] normalize_std: a standard deviation is 0")
    for pair in (("resize_width", "resize_height"), ("center_crop_width", "center_crop_height")):
        if (preprocess[pair[0]] is None) != (preprocess[pair[1]] is None):
            raise QuantConfigError(f"{source}: [data_preprocess_param] {pair[0]} and {pair[1]} go together")


def load_config(path: str | Path) -> QuantConfig:
    """Read and parse a config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise QuantConfigError(f"{path}: cannot read the config file ({err})") from None
    return parse_config(text, str(path))
