"""``meshkit serve``: serve a mesh over OpenAI's HTTP API until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import sys

from ._common import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers) -> None:
    """Add ``serve`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("serve", help="serve a mesh over OpenAI's HTTP API (needs meshkit[serve])")
    p.add_argument("--config", required=True, help="path to mesh.yaml (its serve: section is read)")
    p.add_argument("--host", help="address to listen on (default: serve.host, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: serve.port, else 8080)")
    p.add_argument("--workers", type=int, help="worker processes (default: serve.workers, else 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``meshkit serve`` until SIGINT or SIGTERM."""
    from ..errors import ConfigError

    try:
        from ..serve import serve
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
