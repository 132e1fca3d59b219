"""What a reference engine of ``litert compare`` is (:class:`ReferenceEngine`), apart from the comparison.

Plugins register their engines through ``litert_register_reference_engines`` during every plugin discovery,
so the class they build lives here, importing nothing heavy: :mod:`.comparison` (which re-exports both
names) brings accuracy, capture, result and their dataclasses, ~5 ms of a fresh process's first load on a
2-vCPU Zen 4 that runs no comparison.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import InputError

#: (model path, feeds by the model's input names, threads) -> (every tensor it computed by name, its output names)
RunReference = Callable[[Path, Mapping[str, np.ndarray], int], tuple[dict[str, np.ndarray], list[str]]]


class ReferenceEngine(NamedTuple):
    """An engine ``litert compare`` runs a reference model with (immutable: a NamedTuple, ~0.07 ms to define
    where a frozen dataclass took ~0.45)."""

    name: str
    run: RunReference
    #: file suffixes ``auto`` picks this engine for
    suffixes: tuple[str, ...] = ()
    #: why it cannot run here (a package not installed), or None when it can
    missing: Callable[[], str | None] = lambda: None


def match_feeds(feeds: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Feeds renamed for the reference: by name when it has every one of them, else by position."""
    if set(feeds) <= set(names):
        return dict(feeds)
    if len(names) != len(feeds):
        raise InputError(f"the reference takes {len(names)} input(s) ({', '.join(names)}) but the model takes "
                         f"{len(feeds)} ({', '.join(feeds)})")
    return dict(zip(names, feeds.values()))
