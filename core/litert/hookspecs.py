"""The whole plugin contract of litert, as pluggy hook specifications.

A plugin is a module (or object) with functions marked ``@litert.hookimpl``
whose names match the specifications below.  It is found through an entry
point in one of the groups ``litert.backends``, ``litert.formats`` or
``litert.passes`` and registered under the entry point's name.

Every hook receives a ``register`` callback rather than returning a list, so
the core keeps the tables and a hook may register any number of things: call
it once per thing, with what its annotation names.  Every hook exists since
plugin API 1 unless its docstring names a later version.

Plugin API version: :data:`PLUGIN_API_VERSION`.  A plugin may declare the
version it was written for as ``LITERT_PLUGIN_API = 2`` at module level; a
plugin declaring a newer version than the core's is refused at load (what
changed between versions: docs/plugin-contract.md, "Migrating from plugin API 1").
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # imported for annotations only: the spec imports nothing heavy
    from .backend import Backend
    from .benchmark.engines import ReferenceEngine
    from .formats import Frontend, Serializer
    from .passes.base import Pass
    from .schema import OpSchema

PLUGIN_API_VERSION = 2

hookspec = pluggy.HookspecMarker("litert")
hookimpl = pluggy.HookimplMarker("litert")

# ---------------------------------------------------------------- execution


@hookspec
def litert_register_backends(register: Callable[[Backend], None]) -> None:
    """Register hardware backends, as instances.  A backend's ``name`` is what users pass as a device
    (``devices=["ascend", "cpu"]``) and what ``litert list-backends`` shows.

    .. note:: Registering must be cheap and must not touch the device:
       availability is asked later through ``Backend.probe()``.
    """


@hookspec
def litert_register_kernels(register: Callable[[str, str, str, object], None]) -> None:
    """Register extra kernels (custom operators) for an existing backend.

    :param register: call as ``register(backend_name, domain, op_type, kernel)``.
        What ``kernel`` must be is defined by the backend (the CPU backend
        takes a subclass of ``litert_cpu.Kernel``).  Pair it with a schema
        from :func:`litert_register_schemas` for an operator ONNX lacks.
    """


# ---------------------------------------------------------------- operators


@hookspec
def litert_register_schemas(register: Callable[[OpSchema], None]) -> None:
    """Register operator schemas (fused or vendor operators)."""


# ---------------------------------------------------------------- formats


@hookspec
def litert_register_frontends(register: Callable[[Frontend], None]) -> None:
    """Register model readers (ONNX, ``.ms``, MindIR, ...)."""


@hookspec
def litert_register_serializers(register: Callable[[Serializer], None]) -> None:
    """Register model writers."""


# ---------------------------------------------------------------- optimisation


@hookspec
def litert_register_passes(register: Callable[[Pass], None]) -> None:
    """Register graph passes run by ``litert convert`` and at load time."""


# ---------------------------------------------------------------- tools


@hookspec
def litert_register_reference_engines(register: Callable[[ReferenceEngine], None]) -> None:
    """Register engines ``litert compare`` can run a reference model with (the formats plugin
    registers onnxruntime for ``.onnx`` files).

    Since plugin API 2.
    """
