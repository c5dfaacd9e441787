"""``meshkit connectors``: list the installed connectors."""

from __future__ import annotations

import argparse
import json

from ..enums import ConnectorType
from ._common import Subparsers, print_table, registry_or_exit

__all__ = ["add_parser", "connector_type", "run"]


def connector_type(value: str) -> str:
    """A connector type as typed on the command line: ``secret-store`` as well as ``secret_store``."""
    normal = value.strip().lower().replace("-", "_")
    if normal not in {t.value for t in ConnectorType}:
        raise argparse.ArgumentTypeError(
            f"unknown type {value!r}; choose from {', '.join(t.value for t in ConnectorType)}"
        )
    return normal


def add_parser(sub: Subparsers) -> None:
    """Add ``connectors`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("connectors", help="list installed connectors")
    types = ", ".join(t.value for t in ConnectorType)
    p.add_argument("--type", type=connector_type, metavar="TYPE", help=f"only this type: {types}")
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
            e.plugin if e.distribution == e.plugin else f"{e.plugin} ({e.distribution or 'in-process'})",
            ", ".join(sorted(f.value for f in e.cls.features)) or "-",
        )
        for e in entries
    ]
    print_table(("ID", "TYPE", "VERSION", "PLUGIN", "FEATURES"), rows, keep=(0, 1, 2))
    if registry.failures:
        print(f"\n{len(registry.failures)} plugin problem(s); run `meshkit doctor` for details.")
    return 0
