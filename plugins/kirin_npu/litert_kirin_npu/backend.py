"""The Kirin NPU backend: probes for HiAI Foundation on an Android device.

Kirin NPUs are reached through HiAI's ``libhiai.so`` / ``libhiai_ir.so``
(and ``libhiai_ir_build.so`` to build models), shipped by the phone's system
image.  On any machine without them the backend reports why and is never
offered a node.
"""
from __future__ import annotations

from litert.backend import Availability, Backend, CompileContext, CompiledPartition
from litert.errors import BackendUnavailableError
from litert.ir import Graph
from litert.probe import find_library

from .ops import SUPPORTED_DTYPES, SUPPORTED_OPS

RUNTIME_LIBRARIES = ("libhiai.so", "libhiai_ir.so", "libhiai_ir_build.so")
ENV_DIRS = ("HIAI_DDK_PATH",)


class KirinNpuBackend(Backend):
    name = "kirin_npu"
    supported_dtypes = SUPPORTED_DTYPES
    priority = 90

    def probe(self) -> Availability:
        library = find_library(RUNTIME_LIBRARIES, ENV_DIRS)
        if library is None:
            return Availability(False, "HiAI Foundation libraries (libhiai.so, libhiai_ir.so) not found: needs a Kirin device running HiAI")
        return Availability(False, f"found {library}; model building through HiAI is not implemented in this release")

    def supported_ops(self) -> set[tuple[str, str]]:
        return {("", op) for op in SUPPORTED_OPS}

    def compile(self, subgraph: Graph, ctx: CompileContext) -> CompiledPartition:
        raise BackendUnavailableError(f"kirin_npu: {self.probe().reason}")
