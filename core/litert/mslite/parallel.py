"""``ModelParallelRunner``: ``workers_num`` workers serving ``predict`` calls from many threads.

Design: one :class:`litert.Session` (so one copy of the graph and its
weights: the CPU backend binds the constants once, and every run gets its
own activation arena from the partition's free list) and a request queue
served by ``workers_num`` threads.  The CPU backend's native segments run
with the GIL released, so the workers compute in parallel; a ``predict``
call queues its request and waits for a worker, so at most ``workers_num``
requests run at once, each with ``cpu.thread_num`` intra-op threads.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..errors import LitertError
from ._checks import MSLiteRuntimeError, check_type
from .context import Context, usable_cores
from .model import declared_outputs, feed_of, input_tensors, load_session, output_tensors, read_config
from .tensor import Tensor

if TYPE_CHECKING:
    from ..runtime.session import Session


class ModelParallelRunner:
    """A pool of workers sharing one loaded model."""

    def __init__(self) -> None:
        self.model_path_ = ""
        self._session: Session | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return f"model_path: {self.model_path_}."

    def build_from_file(self, model_path: str, context: Context | None = None) -> None:
        """Load ``model_path`` once and start ``context.parallel.workers_num`` workers."""
        check_type("model_path", model_path, str)
        context = Context() if context is None else context
        check_type("context", context, Context)
        read_config(context.parallel.config_path, context.parallel.config_info or None,
                    "ModelParallelRunner's build from file")
        session = load_session(model_path, None, context, "ModelParallelRunner's build from file")
        threads = context.cpu.thread_num or 1
        workers = context.parallel.workers_num or max(1, usable_cores() // threads)
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._session, self.model_path_ = session, model_path
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="litert-mslite-worker")
            self.workers_num = workers

    def _built(self) -> tuple[Session, ThreadPoolExecutor]:
        if self._session is None or self._pool is None:
            raise MSLiteRuntimeError("the ModelParallelRunner is not built: call build_from_file first")
        return self._session, self._pool

    def get_inputs(self) -> list[Tensor]:
        """Fresh input tensors (each caller fills its own; empty before a build)."""
        return input_tensors(self._session) if self._session is not None else []

    def get_outputs(self) -> list[Tensor]:
        """Output tensors with names, dtypes and shapes (-1 where unknown); no data."""
        return declared_outputs(self._session) if self._session is not None else []

    def predict(self, inputs: Any, outputs: Any = None) -> list[Tensor]:
        """Queue one request and wait for a worker to run it; safe to call from many threads."""
        session, pool = self._built()
        arrays = feed_of(inputs, session)
        try:
            results = pool.submit(session.predict, arrays).result()
        except LitertError as err:
            raise MSLiteRuntimeError(f"predict failed! {err}") from err
        return output_tensors(session, results, outputs)

    def close(self) -> None:
        """Stop the workers (a litert extension; they also stop when the runner is collected)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
                self._session = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
