"""The Kirin NPU backend: probes for HiAI Foundation on an Android device.

Kirin NPUs are reached through HiAI's ``libhiai.so`` / ``libhiai_ir.so``
(and ``libhiai_ir_build.so`` to build models), shipped by the phone's system
image.  On any machine without them the backend reports why and is never
offered a node.
"""
from __future__ import annotations

from pathlib import Path

from litert.backend import Availability, ProbeOnlyBackend

from .ops import SUPPORTED_DTYPES, SUPPORTED_OPS

RUNTIME_LIBRARIES = ("libhiai.so", "libhiai_ir.so", "libhiai_ir_build.so")
ENV_DIRS = ("HIAI_DDK_PATH",)


class KirinNpuBackend(ProbeOnlyBackend):
    name = "kirin_npu"
    operator_types = SUPPORTED_OPS
    supported_dtypes = SUPPORTED_DTYPES
    priority = 90

    runtime_libraries = RUNTIME_LIBRARIES
    runtime_env = ENV_DIRS
    runtime_missing = "HiAI Foundation libraries (libhiai.so, libhiai_ir.so) not found: needs a Kirin device running HiAI"

    def probe_with(self, library: Path) -> Availability:
        return Availability(False, f"found {library}; model building through HiAI is not implemented in this release")
