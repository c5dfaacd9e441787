"""The ``meshkit`` command: one module per subcommand, each adding its parser and running it.

Every subcommand imports what it needs only when it runs, so ``meshkit connectors`` does
not load the router and ``meshkit --help`` loads nothing but the parsers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from . import chat, config, connectors, demo, doctor, new, serve, status

__all__ = ["build_parser", "main"]

#: The subcommands in the order ``meshkit --help`` lists them.
COMMANDS = (chat, config, connectors, doctor, demo, status, new, serve)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``meshkit`` subcommand."""
    parser = argparse.ArgumentParser(prog="meshkit", description="AI-model routing and its connector kit.")
    parser.add_argument("--version", action="version", version=f"meshkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meshkit`` with ``argv`` (default: the command line); the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (`meshkit connectors --json | head`): stop quietly, as `cat` does.
        # Whatever is still buffered goes nowhere, so the interpreter's final flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command ended by a closed pipe
