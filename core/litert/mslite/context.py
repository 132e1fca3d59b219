"""``Context``: where and how a model runs, with MindSpore Lite 2.x's attributes and checks.

Every attribute MindSpore Lite has is accepted with its type and range
checks.  What litert cannot do is said when the model is built
(:meth:`Context.session_options`): a target whose device is absent raises
RuntimeError (as MindSpore Lite does), and options litert's CPU backend does
not implement (core binding, fp16 kernels, inter-op parallelism) give a
:class:`OptionIgnoredWarning` naming the option.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

from ._checks import MSLiteRuntimeError, MSLiteValueError, check_config_dict, check_list_of, non_negative, one_of, ruled, typed

TARGETS = ("cpu", "gpu", "ascend")
CPU_PRECISION_MODES = ("enforce_fp32", "preferred_fp16")
GPU_PRECISION_MODES = ("enforce_fp32", "preferred_fp16")
ASCEND_PRECISION_MODES = ("enforce_fp32", "preferred_fp32", "enforce_fp16", "enforce_origin", "preferred_optimal")
#: MindSpore Lite target -> litert backend (None: litert has no such backend)
BACKEND_OF_TARGET = {"cpu": "cpu", "gpu": None, "ascend": "ascend"}


class OptionIgnoredWarning(UserWarning):
    """A MindSpore Lite option was accepted but litert cannot honour it here."""


class _CPU:
    """``Context.cpu``."""

    def __init__(self) -> None:
        self._thread_num = 0
        self._inter_op_parallel_num = 0
        self._thread_affinity_mode = 0
        self._thread_affinity_core_list: list[int] = []
        self._precision_mode = "enforce_fp32"

    def __str__(self) -> str:
        return (f"device_type: DeviceType.kCPU,\nprecision_mode: {self.precision_mode},\nthread_num: {self.thread_num},\n"
                f"inter_op_parallel_num: {self.inter_op_parallel_num},\nthread_affinity_mode: "
                f"{self.thread_affinity_mode},\nthread_affinity_core_list: {self.thread_affinity_core_list}.")

    thread_num = non_negative("cpu_thread_num", "Intra-op threads; 0 = as many as the cores this process may use.")
    inter_op_parallel_num = non_negative("cpu_inter_op_parallel_num")
    thread_affinity_mode = typed("cpu_thread_affinity_mode", int, "0 no binding, 1 big cores first, 2 middle cores first.")

    @property
    def thread_affinity_core_list(self) -> list[int]:
        return list(self._thread_affinity_core_list)

    @thread_affinity_core_list.setter
    def thread_affinity_core_list(self, value: list[int]) -> None:
        self._thread_affinity_core_list = list(check_list_of("cpu_thread_affinity_core_list", value, int))

    precision_mode = one_of("cpu_precision_mode", CPU_PRECISION_MODES)


class _GPU:
    """``Context.gpu`` (litert has no GPU backend: a context targeting it fails to build)."""

    def __init__(self) -> None:
        self._device_id = 0
        self._precision_mode = "enforce_fp32"

    def __str__(self) -> str:
        return (f"device_type: DeviceType.kGPU,\nprecision_mode: {self.precision_mode},\ndevice_id: {self.device_id},\n"
                f"rank_id: {self.rank_id},\ngroup_size: {self.group_size}.")

    device_id = non_negative("gpu_device_id")
    precision_mode = one_of("gpu_precision_mode", GPU_PRECISION_MODES)

    @property
    def rank_id(self) -> int:
        """Read-only: this device's rank in a cluster (always 0: no distributed GPU inference)."""
        return 0

    @property
    def group_size(self) -> int:
        """Read-only: devices in the cluster (always 1)."""
        return 1


class _Ascend:
    """``Context.ascend``."""

    def __init__(self) -> None:
        self._device_id = 0
        self._precision_mode = ""  # MindSpore Lite leaves it unset (the ACL default applies)

    def __str__(self) -> str:
        return (f"device_type: DeviceType.kAscend,\nprecision_mode: {self.precision_mode},\n"
                f"device_id: {self.device_id}.")

    device_id = non_negative("ascend_device_id")
    precision_mode = one_of("ascend_precision_mode", ASCEND_PRECISION_MODES)


class _Parallel:
    """``Context.parallel``: the options of :class:`ModelParallelRunner`."""

    def __init__(self) -> None:
        self._workers_num = 0
        self._config_info: dict[str, dict[str, str]] = {}
        self._config_path = ""

    def __str__(self) -> str:
        return f"workers num: {self.workers_num},\nconfig info: {self.config_info},\nconfig file: {self.config_path}."

    workers_num = ruled("workers_num", int, lambda value: value >= 0,
                        lambda value: f"Set parallel failed, workers_num must be a non-negative int, but got {value}.",
                        "Workers of a ModelParallelRunner; 0 = one per core left after each worker's cpu.thread_num.")

    @property
    def config_info(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self._config_info.items()}

    @config_info.setter
    def config_info(self, value: dict[str, dict[str, str]]) -> None:
        check_config_dict("config_info", value)
        for section, items in value.items():
            self._config_info.setdefault(section, {}).update(items)

    config_path = ruled("config_path", str, lambda value: not value or os.path.exists(value),
                        lambda value: f"Set parallel failed, config_path {value!r} does not exist.")


@dataclass(frozen=True)
class SessionOptions:
    """What :func:`litert.load` gets for a context."""

    devices: list[str]
    threads: int


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Context:
    """The options a Model or ModelParallelRunner is built with.

    ``target`` defaults to ``["cpu"]``; listing ``"gpu"`` or ``"ascend"``
    appends the CPU as the fallback, as MindSpore Lite does.
    """

    def __init__(self) -> None:
        self.cpu = _CPU()
        self.gpu = _GPU()
        self.ascend = _Ascend()
        self.parallel = _Parallel()
        self._target = ["cpu"]

    def __str__(self) -> str:
        return f"target: {self.target}."

    @property
    def target(self) -> list[str]:
        return list(self._target)

    @target.setter
    def target(self, value: list[str]) -> None:
        value = value if value else ["cpu"]
        check_list_of("target", value, str)
        for item in value:
            if item.lower() not in TARGETS:
                raise MSLiteValueError(f"target elements must be in {list(TARGETS)}, but got {item.lower()}.")
        self._target = list(value)

    def session_options(self) -> SessionOptions:
        """Backends and threads for litert; RuntimeError for an absent device, a warning per ignored option."""
        from ..backend import probe
        from ..plugins import host

        devices: list[str] = []
        for item in (t.lower() for t in self._target):
            backend = BACKEND_OF_TARGET[item]
            if backend is None:
                raise MSLiteRuntimeError(f"target {item!r}: litert has no {item.upper()} backend "
                                         f"(its backends: {', '.join(sorted(host().backends))})")
            found = host().backends.get(backend)
            if found is None:
                raise MSLiteRuntimeError(f"target {item!r}: the litert backend {backend!r} is not installed")
            status = probe(found)
            if not status.available:
                raise MSLiteRuntimeError(f"target {item!r}: the {backend} device is unavailable: {status.reason}")
            if backend not in devices:
                devices.append(backend)
        if "cpu" not in devices:
            devices.append("cpu")
        self._warn_ignored()
        return SessionOptions(devices, self.cpu.thread_num or usable_cores())

    def _warn_ignored(self) -> None:
        cpu = self.cpu
        ignored = []
        if cpu.inter_op_parallel_num > 1:
            ignored.append(f"cpu.inter_op_parallel_num={cpu.inter_op_parallel_num} (litert runs one operator at a time)")
        if cpu.thread_affinity_mode != 0:
            ignored.append(f"cpu.thread_affinity_mode={cpu.thread_affinity_mode} (litert does not bind threads to cores)")
        if cpu.thread_affinity_core_list:
            ignored.append(f"cpu.thread_affinity_core_list={cpu.thread_affinity_core_list} "
                           "(litert does not bind threads to cores)")
        if cpu.precision_mode == "preferred_fp16":
            ignored.append("cpu.precision_mode='preferred_fp16' (litert's CPU kernels compute in float32)")
        for text in ignored:
            warnings.warn(f"litert.mslite: {text}: ignored", OptionIgnoredWarning, stacklevel=4)
