"""``--json FILE`` of the commands that report a result (``benchmark``, ``compare``).

``--json -`` puts the JSON on stdout, so the human-readable report moves to
stderr and stdout stays parseable.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol, TextIO


class JsonResult(Protocol):
    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str: ...


def report_stream(json_target: str | None) -> TextIO:
    """Where the human-readable report goes: stderr when the JSON takes stdout."""
    return sys.stderr if json_target == "-" else sys.stdout


def write_json(result: JsonResult, json_target: str | None, out: TextIO) -> None:
    """``result`` as JSON to stdout (``-``) or to the file ``json_target`` (said on ``out``); nothing when None."""
    if json_target == "-":
        print(result.to_json())
    elif json_target:
        result.to_json(json_target)
        print(f"wrote {json_target}", file=out)
