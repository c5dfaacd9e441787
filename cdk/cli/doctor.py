"""``meshkit doctor``: report the plugins and connectors that failed to load, and missing libraries."""

from __future__ import annotations

import argparse
import json

from ..plugins import slow_import_seconds
from ._common import Subparsers, registry_or_exit

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers) -> None:
    """Add ``doctor`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("doctor", help="report plugins that failed to load (exit 1 if any)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Report plugin failures (exit 1 when there are any) and connectors missing their library."""
    registry = registry_or_exit()
    failures = registry.failures
    unusable = [(e.connector_id, line) for e in registry for line in e.cls.missing_requirements()]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not failures,
                    "plugins": [p.to_dict() for p in registry.plugins],
                    "connectors": len(registry),
                    "failures": [f.to_dict() for f in failures],
                    "missing_libraries": [{"connector": c, "problem": line} for c, line in unusable],
                },
                indent=2,
            )
        )
        return 1 if failures else 0
    print(f"{len(registry.plugins)} plugin(s) loaded, {len(registry)} connector(s) available.")
    threshold = slow_import_seconds()
    slow = [p for p in registry.plugins if p.import_seconds > threshold]
    if slow:
        print(f"\n{len(slow)} plugin import(s) slower than {threshold:g}s:")
        for p in slow:
            dist = f"{p.distribution} {p.version}" if p.distribution else "not from a distribution"
            print(f"  - plugin {p.name!r} ({dist}) took {p.import_seconds:.2f}s to import")
    if unusable:
        # Optional extras: not a failure, but such a connector fails when a configuration names it.
        print(f"\n{len(unusable)} connector(s) installed without the library they need:")
        for _, line in unusable:
            print(f"  - {line}")
    if not failures:
        print("No problems found.")
        return 0
    print(f"\n{len(failures)} problem(s):")
    for i, f in enumerate(failures, 1):
        dist = f"{f.distribution} {f.version}" if f.distribution else "not from a distribution"
        subject = f"connector {f.connector} in plugin {f.plugin!r}" if f.connector else f"plugin {f.plugin!r}"
        print(f"\n{i}. {subject} ({dist})")
        print(f"   error: {f.error}")
        print(f"   fix:   {f.hint}")
    return 1
