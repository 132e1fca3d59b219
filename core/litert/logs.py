"""litert's loggers, which import :mod:`logging` only for a record someone can see.

``import logging`` (with the ``string``, ``traceback`` and ``weakref`` machinery it pulls in) is ~3 ms of every
process's first ``litert.load``, and a load logs at INFO each time (the placement summary).  Until something
imports :mod:`logging`, no handler, level or filter can have been set up, so the defaults hold: a record below
WARNING is dropped, and WARNING and above go to logging's last-resort handler on stderr.  :class:`Log` keeps
exactly that behaviour without the import, and defers to :mod:`logging` as soon as anything (an application,
the CLI, pytest) has imported it.
"""
from __future__ import annotations

import sys
from typing import Any

DEBUG, INFO, WARNING = 10, 20, 30


class Log:
    """A named logger with :class:`logging.Logger`'s ``debug``/``info``/``warning``/``log`` calls."""

    def __init__(self, name: str) -> None:
        self.name = name

    def enabled(self, level: int) -> bool:
        """Whether a record at ``level`` would be handled (so whether it is worth formatting)."""
        logging = sys.modules.get("logging")
        if logging is None:
            return level >= WARNING
        return bool(logging.getLogger(self.name).isEnabledFor(level))

    def log(self, level: int, msg: str, *args: Any) -> None:
        if self.enabled(level):
            import logging

            logging.getLogger(self.name).log(level, msg, *args, stacklevel=2)

    def debug(self, msg: str, *args: Any) -> None:
        self.log(DEBUG, msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self.log(INFO, msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self.log(WARNING, msg, *args)
