"""Typed exceptions of the litert Python API.

Every error a user can cause (a bad file, an unknown operator, a wrong input)
is one of these; the CLI turns them into one readable line and a non-zero exit.
"""
from __future__ import annotations


class LitertError(Exception):
    """Base class of every litert error."""


class ModelLoadError(LitertError):
    """A model file is missing, truncated, corrupt or of an unknown format."""


class UnsupportedOperatorError(LitertError):
    """A node uses an operator that no schema, frontend or backend knows."""

    def __init__(self, message: str, *, node: str = "", op_type: str = "", domain: str = ""):
        super().__init__(message)
        self.node = node
        self.op_type = op_type
        self.domain = domain


class InvalidModelError(LitertError):
    """A model parses but is inconsistent (bad attribute, dangling value...)."""


class InputError(LitertError):
    """Inputs given to ``predict``/``resize`` do not match the model."""


class PluginError(LitertError):
    """A plugin failed to load, or a requested backend/format does not exist."""


class BackendUnavailableError(PluginError):
    """A requested backend is installed but its device or runtime is absent."""


class ExecutionError(LitertError):
    """A kernel failed while running; names the node."""


class ResourceLimitError(LitertError):
    """A model asks for more memory or time than the configured limits allow."""


class OptionError(LitertError, ValueError):
    """An option of ``load``/``convert`` (or its CLI flag) has a value litert does not know."""


class typed_errors:  # noqa: N801 - used as a function: ``with typed_errors(cls, what):``
    """Turn any exception other than a :class:`LitertError` raised in the block into ``cls``.

    Used at the API's boundaries (reading a file, compiling, running): what a
    hostile or broken model makes a reader, pass or kernel raise reaches the
    user as a typed error naming ``what`` and the original exception type,
    which stays chained for debugging.  A class rather than a generator
    context manager: every predict enters one."""

    __slots__ = ("_cls", "_what")

    def __init__(self, cls: type[LitertError], what: str) -> None:
        self._cls, self._what = cls, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: object) -> None:
        if err is None or isinstance(err, LitertError) or not isinstance(err, Exception):
            return
        lines = str(err).strip().splitlines()
        detail = f"{type(err).__name__}: {lines[0][:300]}" if lines else type(err).__name__
        raise self._cls(f"{self._what} ({detail})") from err


class QuantConfigError(LitertError):
    """A quantisation config file (MindSpore Lite's ``--configFile`` INI) has an unknown key or a bad value.

    The message names the file, line, section and key.
    """


class CalibrationError(LitertError):
    """The calibration data of a full quantisation is missing, empty or does not fit the model's inputs."""
