"""The Ascend backend: probes for CANN's AscendCL runtime and a device.

Execution needs CANN's graph engine (``libascendcl.so``, ``libge_runner.so``)
and an Ascend device; where either is missing the backend says so and never
claims to be available, so the scheduler does not offer it any node.
"""
from __future__ import annotations

from pathlib import Path

from litert.backend import Availability, ProbeOnlyBackend

from .ops import SUPPORTED_DTYPES, SUPPORTED_OPS

RUNTIME_LIBRARIES = ("libascendcl.so",)
TOOLKIT_ENV = ("ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME", "ASCEND_AICPU_PATH")
DEVICE_GLOB = "davinci[0-9]*"


class AscendBackend(ProbeOnlyBackend):
    name = "ascend"
    operator_types = SUPPORTED_OPS
    supported_dtypes = SUPPORTED_DTYPES
    priority = 100

    runtime_libraries = RUNTIME_LIBRARIES
    runtime_env = TOOLKIT_ENV
    runtime_missing = (f"CANN runtime libascendcl.so not found (looked in ${', '.join(TOOLKIT_ENV)}, LD_LIBRARY_PATH, "
                       "ld cache)")

    def probe_with(self, library: Path) -> Availability:
        devices = sorted(Path("/dev").glob(DEVICE_GLOB))
        if not devices:
            return Availability(False, f"found {library} but no Ascend device (/dev/davinci*)")
        return Availability(
            False, f"found {library} and {len(devices)} device(s); graph execution through CANN is not implemented in this release"
        )
