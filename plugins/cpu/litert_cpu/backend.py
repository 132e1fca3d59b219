"""The CPU backend: accepts every operator it has a kernel for."""
from __future__ import annotations

import os
import platform

from litert.backend import Availability, Backend, CompileContext, CompiledPartition
from litert.ir import Graph, Node

from .kernels._registry import KERNELS


class CpuBackend(Backend):
    """The compiled kernel library for the hot path, numpy kernels for the
    rest; the fallback every graph can land on."""

    name = "cpu"
    priority = 0

    def probe(self) -> Availability:
        from .native import status
        from .threads import cpu_count

        return Availability(True, f"{platform.machine()}, {cpu_count()} cores, {status().detail}")

    def details(self) -> str:
        """The native GEMM, and the BLAS libraries loaded (numpy's own, and the one the native GEMM registered), as
        threadpoolctl finds them: a scan of the loaded libraries (5-8 ms with threadpoolctl's import) that every
        load paid while it was part of :meth:`probe`.  Each is named by its file, so numpy's and litert's are told
        apart."""
        from .native import load_blas
        from .threads import blas_info

        gemm = load_blas()  # what the GEMM is (a load opens OpenBLAS only for a plan that calls it)
        blas = [f"{os.path.basename(i.get('filepath', '')).split('.')[0]} ({i.get('internal_api')} "
                f"{i.get('architecture', '')})".replace(" )", ")")
                for i in blas_info() if i.get("user_api") == "blas"]
        return f"GEMM: {gemm}; BLAS loaded: {', '.join(blas) or 'unknown'}"

    def supported_ops(self) -> set[tuple[str, str]]:
        return set(KERNELS)

    def supports_op(self, domain: str, op_type: str) -> bool:
        return (domain, op_type) in KERNELS  # the kernel table itself: no copy per node

    def check_node(self, node: Node, graph: Graph) -> str | None:
        reason = super().check_node(node, graph)
        if reason and self._custom_kernel_for(node):
            return None
        return reason

    def _custom_kernel_for(self, node: Node):
        from litert.plugins import host

        return host().kernels.get(self.name, {}).get((node.domain, node.op_type))

    def compile(self, subgraph: Graph, ctx: CompileContext) -> CompiledPartition:
        from .executor import CpuPartition

        return CpuPartition(subgraph, ctx)

    def evaluator(self):
        from .executor import evaluate_node

        return evaluate_node


__all__ = ["CpuBackend"]
