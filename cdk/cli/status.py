"""``meshkit status``: load a mesh configuration and its stored state; print the status."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from ..errors import ConfigError, MeshkitError
from ._common import Subparsers

__all__ = ["Printer", "add_parser", "print_status", "run", "run_status"]

#: Where a command writes its lines (``print`` unless a test captures them).
Printer = Callable[[str], None]


def add_parser(sub: Subparsers) -> None:
    """Add ``status`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("status", help="load a mesh configuration and its stored state; print the status")
    p.add_argument("config", help="path to mesh.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print a configured mesh's status (pools, models, providers)."""
    return run_status(args.config, as_json=args.json)


def print_status(status: Mapping[str, Any], out: Printer = print) -> None:
    """``mesh.status()`` as readable tables."""
    for pool_id, pool in status["pools"].items():
        out(f"  pool {pool_id}: {pool['active']}/{pool['size']} active, rotation {pool['rotation']}")
    rows = [("MODEL", "STATUS", "REASON", "REQUESTS", "OK", "FAILED", "COOLDOWN UNTIL")]
    for model_id, model in status["models"].items():
        c = model["counters"]
        rows.append(
            (
                model_id,
                model["status"],
                model["reason"] or "-",
                str(c["requests"]),
                str(c["successes"]),
                str(c["failures"]),
                model["cooldown_until"] or model["resets_at"] or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for provider_id, provider in status["providers"].items():
        if provider["status"] != "active":
            out(f"  provider {provider_id}: {provider['status']} ({provider['reason']})")


def run_status(path: str, *, as_json: bool = False, out: Printer = print) -> int:
    """Load a mesh configuration and its stored state, and print the status."""
    from ..runtime.mesh import Mesh

    try:
        mesh = Mesh.from_config(path)
    except ConfigError as exc:
        out(f"meshkit: {exc}")
        return 2

    async def main() -> dict[str, Any]:
        async with mesh:
            return mesh.status()

    try:
        status = anyio.run(main)
    except MeshkitError as exc:
        out(f"meshkit: {exc}")
        return 2
    if as_json:
        out(json.dumps(status, indent=2))
    else:
        print_status(status, out)
    return 0
