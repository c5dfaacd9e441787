"""The ``meshkit`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .enums import ConnectorType

__all__ = ["main"]


def _registry_or_exit() -> Any:
    from .errors import PluginLoadError
    from .plugins import get_registry

    try:
        return get_registry()
    except PluginLoadError as exc:
        # One line, no traceback: a plugin's error text may span several lines.
        print(f"meshkit: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_connectors(args: argparse.Namespace) -> int:
    """List the installed connectors."""
    registry = _registry_or_exit()
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
    _table(("ID", "TYPE", "VERSION", "PLUGIN (DISTRIBUTION)", "FEATURES"), rows)
    if registry.failures:
        print(f"\n{len(registry.failures)} plugin problem(s); run `meshkit doctor` for details.")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Report plugin failures; exit 1 when there are any."""
    registry = _registry_or_exit()
    failures = registry.failures
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not failures,
                    "plugins": [p.to_dict() for p in registry.plugins],
                    "connectors": len(registry),
                    "failures": [f.to_dict() for f in failures],
                },
                indent=2,
            )
        )
        return 1 if failures else 0
    print(f"{len(registry.plugins)} plugin(s) loaded, {len(registry)} connector(s) available.")
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


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``meshkit`` subcommand."""
    parser = argparse.ArgumentParser(prog="meshkit", description="AI-model routing and its connector kit.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("connectors", help="list installed connectors")
    p.add_argument("--type", choices=[t.value for t in ConnectorType], help="only this type")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_connectors)

    p = sub.add_parser("doctor", help="report plugins that failed to load (exit 1 if any)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("demo", help="route a few requests through a local server, with a failover")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("status", help="load a mesh configuration and its stored state; print the status")
    p.add_argument("config", help="path to mesh.yaml")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("new", help="create a connector package that already passes the conformance suite")
    p.add_argument("type", help=f"connector type: {', '.join(t.value for t in ConnectorType)}")
    p.add_argument("name", help="connector name: lowercase letters, digits, hyphens (e.g. acme)")
    p.add_argument("--vendor", help="first part of the connector id <vendor>.<name>.v1 (default: the name)")
    p.add_argument("--output-dir", default=".", help="where to create meshkit-<name>/ (default: .)")
    p.add_argument("--no-input", action="store_true", help="ask nothing; use the defaults")
    p.add_argument("--overwrite", action="store_true", help="write over an existing meshkit-<name>/")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("serve", help="serve a mesh over OpenAI's HTTP API (needs meshkit[serve])")
    p.add_argument("--config", required=True, help="path to mesh.yaml (its serve: section is read)")
    p.add_argument("--host", help="address to listen on (default: serve.host, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: serve.port, else 8080)")
    p.add_argument("--workers", type=int, help="worker processes (default: serve.workers, else 1)")
    p.set_defaults(func=cmd_serve)
    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the router on an embedded default: no keys, no services to start."""
    from .runtime.commands import run_demo

    return run_demo()


def cmd_status(args: argparse.Namespace) -> int:
    """Print a configured mesh's status (pools, models, providers)."""
    from .runtime.commands import run_status

    return run_status(args.config, as_json=args.json)


def cmd_new(args: argparse.Namespace) -> int:
    """Render the connector-package template."""
    from .scaffold import run_new

    return run_new(
        args.type,
        args.name,
        vendor=args.vendor,
        output_dir=args.output_dir,
        no_input=args.no_input,
        overwrite=args.overwrite,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Run ``meshkit serve`` until SIGINT or SIGTERM."""
    from .errors import ConfigError

    try:
        from .serve import serve
    except ImportError as exc:
        print(f"meshkit serve needs its extra: pip install 'meshkit[serve]' ({exc})", file=sys.stderr)
        return 2
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    try:
        serve(args.config, overrides)
    except (ConfigError, OSError) as exc:
        print(f"meshkit serve: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meshkit`` with ``argv`` (default: the command line); the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
