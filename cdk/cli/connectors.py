"""``meshkit connectors``: list the installed connectors."""

from __future__ import annotations

import argparse
import json

from ..enums import ConnectorType
from ._common import Subparsers, print_table, registry_or_exit

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers) -> None:
    """Add ``connectors`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("connectors", help="list installed connectors")
    p.add_argument("--type", choices=[t.value for t in ConnectorType], help="only this type")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the installed connectors."""
    registry = registry_or_exit()
    kind = ConnectorType(args.type) if args.type else None
    entries = [e for e in registry if kind is None or e.connector_type is kind]
    if args.json:
        print(
            json.dumps(
                {
                    "connectors": [e.to_dict() for e in entries],
                    "failures": [f.to_dict() for f in registry.failures],
                },
                indent=2,
            )
        )
        return 0
    rows = [
        (
            e.connector_id,
            e.connector_type.value,
            e.version or "-",
            f"{e.plugin} ({e.distribution or 'in-process'})",
            ", ".join(sorted(f.value for f in e.cls.features)) or "-",
        )
        for e in entries
    ]
    print_table(("ID", "TYPE", "VERSION", "PLUGIN (DISTRIBUTION)", "FEATURES"), rows)
    if registry.failures:
        print(f"\n{len(registry.failures)} plugin problem(s); run `meshkit doctor` for details.")
    return 0
