"""``meshkit config --from-env``: print the configuration built from the API keys in the environment."""

from __future__ import annotations

import argparse
import os
import sys

from ._common import Subparsers

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers) -> None:
    """Add ``config`` to the ``meshkit`` subcommands."""
    p = sub.add_parser(
        "config",
        help="print a mesh configuration as YAML (--from-env: from the API keys set)",
        description="Print a mesh configuration as YAML, to keep as mesh.yaml and edit.",
    )
    p.add_argument(
        "--from-env",
        action="store_true",
        required=True,
        help="one provider per well-known API key set (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the configuration ``Mesh.from_env()`` would use; exit 2 when no key is set."""
    import yaml

    from ..errors import ConfigError
    from ..runtime.environment import config_from_env

    try:
        config = config_from_env(os.environ)
    except ConfigError as exc:
        print(f"meshkit: {exc}", file=sys.stderr)
        return 2
    print("# Built by `meshkit config --from-env`: keys stay in the environment (${secrets:...}).")
    print(yaml.safe_dump(config, sort_keys=False, default_flow_style=False).rstrip())
    return 0
