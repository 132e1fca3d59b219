"""``litert list-backends``, ``list-frontends``, ``list-formats``."""
from __future__ import annotations

import argparse
import json
from typing import Any


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _backends() -> list[dict[str, Any]]:
    from litert.backend import probe
    from litert.plugins import host

    rows = []
    for backend in sorted(host().backends.values(), key=lambda b: -b.priority):
        status = probe(backend)
        state = "error" if status.failed else "available" if status.available else "unavailable"
        reason = status.reason
        try:
            more = backend.details() if status.available else ""
        except Exception as err:  # third-party code: listing goes on, as with a failing probe
            more = f"details failed: {type(err).__name__}: {err}"
        if more:
            reason = f"{reason}; {more}" if reason else more
        dist = backend.distribution
        rows.append({
            "name": backend.name,
            "distribution": dist,
            "version": _dist_version(dist),
            "status": state,
            "reason": reason,
            "priority": backend.priority,
            "operators": len(backend.supported_ops()),
        })
    for failure in host().failures:
        if failure.group == "litert.backends":
            rows.append({
                "name": failure.name, "distribution": failure.distribution, "version": failure.version,
                "status": "failed", "reason": failure.error, "priority": None, "operators": 0,
            })
    return rows


def _dist_version(dist: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(dist) if dist else ""
    except md.PackageNotFoundError:
        return ""


def _formats(kind: str) -> list[dict[str, Any]]:
    from litert.plugins import host

    rows = []
    if kind in ("frontends", "formats"):
        rows += [{"name": f.name, "kind": "reader", "extensions": list(f.extensions)} for f in host().frontends.values()]
    if kind == "formats":
        rows += [{"name": s.name, "kind": "writer", "extensions": list(s.extensions)} for s in host().serializers.values()]
    rows += [
        {"name": f.name, "kind": "failed", "extensions": [], "error": f.error}
        for f in host().failures if f.group == "litert.formats"
    ]
    return rows


def run(args: argparse.Namespace) -> int:
    if args.command == "list-backends":
        rows = _backends()
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no backends installed (pip install litert-cpu)")
        else:
            print(f"{'NAME':<12} {'DISTRIBUTION':<20} {'VERSION':<9} {'PRIO':>4} {'OPS':>4}  STATUS")
            for r in rows:
                prio = "" if r["priority"] is None else r["priority"]
                print(f"{r['name']:<12} {r['distribution']:<20} {r['version']:<9} {prio:>4} {r['operators']:>4}  "
                      f"{r['status']}" + (f": {r['reason']}" if r["reason"] else ""))
        return 0
    rows = _formats("frontends" if args.command == "list-frontends" else "formats")
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            detail = r.get("error") or " ".join(r["extensions"])
            print(f"{r['name']:<10} {r['kind']:<7} {detail}")
    return 0
