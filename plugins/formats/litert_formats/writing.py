"""What the format writers do around their lowering and the file write, in one place (as :mod:`.reading` is for
the readers): a litert error passes as it is, any other error of the lowering names the format, a failed write
names the file."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from litert.errors import InvalidModelError, LitertError


@contextmanager
def lowering_errors(fmt: str) -> Iterator[None]:
    """Run a writer's lowering: a litert error passes as it is; any other one (an IR the lowering did not expect)
    becomes ``InvalidModelError("cannot express the model as <fmt>: <type>: <message>")``, without a traceback."""
    try:
        yield
    except LitertError:
        raise
    except Exception as err:
        raise InvalidModelError(f"cannot express the model as {fmt}: {type(err).__name__}: {err}") from None


@contextmanager
def write_errors(path: Path) -> Iterator[None]:
    """Write a model file: an ``OSError`` becomes ``LitertError("<path>: cannot write (<reason>)")``."""
    try:
        yield
    except OSError as err:
        raise LitertError(f"{path}: cannot write ({err.strerror or err})") from None
