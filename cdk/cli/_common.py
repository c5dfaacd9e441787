"""What several subcommands share: the plugin registry, or a one-line exit, and plain tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ..plugins import ConnectorRegistry

__all__ = ["Subparsers", "print_table", "registry_or_exit"]

#: What ``ArgumentParser.add_subparsers`` returns: each subcommand adds its parser to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def registry_or_exit() -> ConnectorRegistry:
    """The plugin registry; exit 2 with one line when strict plugin loading failed."""
    from ..errors import PluginLoadError
    from ..plugins import get_registry

    try:
        return get_registry()
    except PluginLoadError as exc:
        # One line, no traceback: a plugin's error text may span several lines.
        print(f"meshkit: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """``rows`` under ``header``, each column as wide as its widest cell."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
