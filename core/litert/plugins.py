"""Plugin discovery (entry points, :mod:`litert.entry_points`) and registration (pluggy).

Nothing here runs at import: :func:`host` loads the plugins the first time
something asks for a backend, a format or a pass.  Each entry point is
loaded on its own; one that fails to import is recorded in
:attr:`PluginHost.failures` (name, group, distribution, error) and
everything else keeps working.

Environment switches:

``LITERT_DISABLE_PLUGIN_AUTOLOAD=1``
    load no entry points at all (plugins can still be registered by hand
    with :meth:`PluginHost.register`).
``LITERT_PLUGINS=a,b``
    load only the entry points whose name or distribution is listed.
``LITERT_STRICT_PLUGINS=1``
    re-raise a plugin's import error instead of recording it.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from types import FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import pluggy

from . import hookspecs
from .entry_points import Distribution, EntryPointLike, entry_points
from .errors import PluginError
from .logs import Log

if TYPE_CHECKING:
    from .backend import Backend
    from .benchmark.engines import ReferenceEngine
    from .formats import Frontend, Serializer
    from .passes.base import Pass

log = Log("litert.plugins")

ENTRY_POINT_GROUPS = ("litert.backends", "litert.formats", "litert.passes")


class PluginInfo(NamedTuple):
    """A loaded plugin, for ``litert list-backends`` and friends (immutable records are NamedTuples here:
    a frozen dataclass took ~0.45 ms of ``import litert`` to define)."""

    name: str
    group: str
    distribution: str
    version: str


class PluginFailure(NamedTuple):
    """A plugin that could not be loaded, and why."""

    name: str
    group: str
    distribution: str
    version: str
    error: str


class PluginHost:
    """The tables the core reads: filled by the plugins' ``register`` hooks.

    (A plain class, not a dataclass: :mod:`litert.record` says why.)
    """

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self.pm = _new_manager() if pm is None else pm
        self.backends: dict[str, Backend] = {}
        self.frontends: dict[str, Frontend] = {}
        self.serializers: dict[str, Serializer] = {}
        self.passes: dict[str, Pass] = {}
        self._engines: dict[str, ReferenceEngine] | None = None
        self.kernels: dict[str, dict[tuple[str, str], object]] = {}
        self.loaded: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []

    # -- registration -------------------------------------------------------

    def register(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object and collect what its hooks provide."""
        declared = getattr(plugin, "LITERT_PLUGIN_API", hookspecs.PLUGIN_API_VERSION)
        if declared > hookspecs.PLUGIN_API_VERSION:
            raise PluginError(
                f"plugin {name!r} needs litert plugin API {declared}; this litert provides {hookspecs.PLUGIN_API_VERSION}"
            )
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        distribution = info.distribution if info else ""
        self._collect(plugin, distribution)
        if info:
            self.loaded.append(info)

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return
        self.pm.unregister(plugin)
        self._rebuild()

    def _collect(self, plugin: object, distribution: str) -> None:
        from .schema import schemas

        # pluggy's hook caller restricted to this one plugin, so what it registers is attributed to its
        # distribution; only the hooks the plugin implements are called (a plugin implements one or two of
        # the seven: calling all of them for every plugin was ~1 ms of a first load)
        implemented = self._implemented(plugin)
        others = [p for p in self.pm.get_plugins() if p is not plugin]

        def add_backend(backend: Backend) -> None:
            if not backend.distribution:
                backend.distribution = distribution
            self.backends[backend.name] = backend

        def add_kernel(backend: str, domain: str, op: str, kernel: object) -> None:
            self.kernels.setdefault(backend, {})[(domain, op)] = kernel

        registrations: list[tuple[str, Callable[[], Callable[..., None]]]] = [
            ("litert_register_schemas", lambda: schemas().register),
            ("litert_register_backends", lambda: add_backend),
            ("litert_register_frontends", lambda: lambda f: self.frontends.__setitem__(f.name, f)),
            ("litert_register_serializers", lambda: lambda s: self.serializers.__setitem__(s.name, s)),
            ("litert_register_passes", lambda: lambda p: self.passes.__setitem__(p.name, p)),
            ("litert_register_kernels", lambda: add_kernel),
        ]
        self._engines = None  # collected again when next asked for
        for name, register in registrations:
            if name in implemented:
                self.pm.subset_hook_caller(name, others)(register=register())

    def _implemented(self, plugin: object) -> set[str]:
        """The hooks ``plugin`` implements."""
        return {caller.name for caller in self.pm.get_hookcallers(plugin) or ()}

    def _rebuild(self) -> None:
        for table in (self.backends, self.frontends, self.serializers, self.passes, self.kernels):
            table.clear()
        self._engines = None
        dist = {i.name: i.distribution for i in self.loaded}
        for name, plugin in self.pm.list_name_plugin():
            self._collect(plugin, dist.get(name, ""))

    @property
    def reference_engines(self) -> dict[str, ReferenceEngine]:
        """The engines ``litert compare`` may check against, collected when first asked for: registering one
        imports its module (onnxruntime's wrapper and the comparison machinery), which no load needs (~0.6 ms
        of a first load)."""
        if self._engines is None:
            engines: dict[str, ReferenceEngine] = {}
            # one plugin at a time, in the order they were registered: a later plugin's engine of the same name
            # wins, as every other table's does
            for _, plugin in self.pm.list_name_plugin():
                if "litert_register_reference_engines" in self._implemented(plugin):
                    others = [p for p in self.pm.get_plugins() if p is not plugin]
                    self.pm.subset_hook_caller("litert_register_reference_engines", others)(
                        register=lambda e: engines.__setitem__(e.name, e))
            self._engines = engines
        return self._engines

    # -- lookup -------------------------------------------------------------

    def backend(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            failed = [f for f in self.failures if f.name == name]
            if failed:
                raise PluginError(f"backend {name!r} failed to load: {failed[0].error}") from None
            known = ", ".join(sorted(self.backends)) or "none"
            raise PluginError(f"no backend named {name!r} (installed: {known})") from None


class _Manager(pluggy.PluginManager):
    """pluggy's manager, looking at fewer attributes of a module plugin.

    pluggy asks :func:`inspect.getattr_static` about every name in ``dir(plugin)``, to find the functions
    and methods marked ``@hookimpl``: for a plugin module that is its dunders and imports too, ~10 us each
    and ~1.5 ms of every process's first load over the nine plugins litert ships.  A module's attributes are
    its ``__dict__`` (no descriptors run on a module), so a name there holding neither a function nor a
    bound method (what pluggy would accept) is skipped before that; the rest goes to pluggy unchanged, which
    still reports a marked function with an unknown hook name."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if isinstance(plugin, ModuleType) and not isinstance(plugin.__dict__.get(name), (FunctionType, MethodType)):
            return None
        return super().parse_hookimpl_opts(plugin, name)


def _new_manager() -> pluggy.PluginManager:
    pm = _Manager("litert")
    pm.add_hookspecs(hookspecs)
    return pm


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _names(ep: EntryPointLike, dist: str) -> set[str]:
    """What ``LITERT_PLUGINS`` may call an entry point by: its name or its distribution's."""
    return {ep.name, dist, dist.replace("_", "-")}


def _allowed(ep: EntryPointLike, allow: set[str] | None, dist: str) -> bool:
    return allow is None or not allow.isdisjoint(_names(ep, dist))


def _warn_unmatched(allow: set[str], installed: dict[str, list[EntryPointLike]], distributions: _Distributions) -> None:
    """One warning naming what ``LITERT_PLUGINS`` lists but no installed entry point or distribution is called
    (a misspelling, or a name from before litert-formats' six entry points became one, ``formats``)."""
    points = [ep for group in installed.values() for ep in group]
    unmatched = sorted(allow - set().union(*(_names(ep, distributions(ep)[0]) for ep in points)))
    if unmatched:
        log.warning("LITERT_PLUGINS names %s: no installed entry point or distribution is called that (entry points: %s)",
                    ", ".join(unmatched), ", ".join(sorted({ep.name for ep in points})))


class _Distributions:
    """Name and version of each entry point's distribution, read once per distribution.

    ``EntryPoint.dist.name`` and ``.version`` each parse the distribution's
    whole ``METADATA`` with the ``email`` package (imported for it: milliseconds
    of every load), once per entry point; litert-formats alone has six.  The
    two fields are single header lines at the top of that file (core metadata,
    PEP 566), read here once per distribution.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[Distribution, str, str]] = {}

    def __call__(self, ep: EntryPointLike) -> tuple[str, str]:
        dist = ep.dist
        if dist is None:
            return "", ""
        known = self._known.get(id(dist))
        if known is None:
            name, version = _name_and_version(dist)
            # the distribution is kept in the entry so that its id is not reused while this table lives
            known = self._known[id(dist)] = (dist, name, version)
        return known[1], known[2]


def _name_and_version(dist: Distribution) -> tuple[str, str]:
    """The ``Name`` and ``Version`` headers of a distribution's core metadata (``METADATA``, or an
    egg's ``PKG-INFO``); the headers end at the first empty line."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    return fields.get("Name", ""), fields.get("Version", "")


def _load_group(host: PluginHost, group: str, points: Iterable[EntryPointLike], allow: set[str] | None,
                distributions: _Distributions) -> None:
    """Load and register each of ``points`` (the entry points of ``group``) on its own, in name order.

    pluggy's ``load_setuptools_entrypoints`` stops at the first plugin that
    fails to import; here a failing one is recorded in ``host.failures`` and
    logged once, and the others still load.
    """
    chosen = {ep.name: ep for ep in points if _allowed(ep, allow, distributions(ep)[0])}
    strict = _flag("LITERT_STRICT_PLUGINS")
    for name in sorted(chosen):
        ep = chosen[name]
        dist, version = distributions(ep)
        try:
            host.register(ep.load(), name, PluginInfo(name, group, dist, version))
        except Exception as err:  # one plugin failing to import or register must not take the rest down
            if strict:
                raise
            host.failures.append(PluginFailure(name, group, dist, version, f"{type(err).__name__}: {err}"))
            log.warning("litert plugin %r (%s) failed to load: %s", name, dist or "?", err)


_HOST: PluginHost | None = None


def host() -> PluginHost:
    """The process-wide plugin host, loading entry points on first use."""
    global _HOST
    if _HOST is None:
        new = PluginHost()
        if not _flag("LITERT_DISABLE_PLUGIN_AUTOLOAD"):
            raw = os.environ.get("LITERT_PLUGINS")
            allow = {p.strip() for p in raw.split(",") if p.strip()} if raw is not None else None
            # one scan of the installed distributions for the three groups
            installed = entry_points(ENTRY_POINT_GROUPS)
            distributions = _Distributions()
            for group in ENTRY_POINT_GROUPS:
                _load_group(new, group, installed[group], allow, distributions)
            if allow is not None:
                _warn_unmatched(allow, installed, distributions)
        _HOST = new
    return _HOST


def reset() -> None:
    """Forget loaded plugins (the next :func:`host` call discovers again)."""
    global _HOST
    _HOST = None
