"""Operator registries keyed by ``(domain, op_type)``, written one domain at a time.

The writers' tables name hundreds of operators, nearly all in the default ONNX domain; :func:`by_domain`
lets a table state each domain once, above its operators, instead of on every row.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def by_domain(tables: Mapping[str, Mapping[str, T]]) -> dict[tuple[str, str], T]:
    """``{domain: {op_type: entry}}`` flattened to ``{(domain, op_type): entry}``."""
    return {(domain, op): entry for domain, table in tables.items() for op, entry in table.items()}
