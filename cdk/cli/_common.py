"""What several subcommands share: the plugin registry, or a one-line exit, and plain tables."""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ..plugins import ConnectorRegistry

__all__ = ["Printer", "Subparsers", "print_table", "registry_or_exit", "short_time", "terminal_width"]

#: Where a command writes its lines (``print`` unless a test captures them).
Printer = Callable[[str], None]

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


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` when set); 80 when the output is not a terminal."""
    return shutil.get_terminal_size((80, 24)).columns


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    out: Printer | None = None,
    keep: Sequence[int] = (0,),
    indent: int = 0,
) -> None:
    """``rows`` under ``header``, one line per row, fitted to the terminal's width.

    Long cells are shortened with an ellipsis, except in the ``keep`` columns (an id must
    stay whole); ``--json`` is where nothing is cut. Without rich (``meshkit[cli]``) the
    columns are simply as wide as their widest cell.
    """
    write: Printer = out or _print_now
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
        for row in (header, *rows):
            line = "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False))
            write((" " * indent + line).rstrip())
        return
    cells = [[str(c) for c in row] for row in rows]
    widths = fit_widths(
        [max(len(str(r[i])) for r in (header, *cells)) for i in range(len(header))],
        keep=keep,
        room=max(40, terminal_width() - indent) - 2 * (len(header) - 1),
    )
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold")
    for title, width in zip(header, widths, strict=True):
        table.add_column(title, no_wrap=True, overflow="ellipsis", width=width)
    for row in cells:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=10_000, color_system=None, highlight=False)
    console.print(table)
    for line in buffer.getvalue().splitlines():
        write((" " * indent + line).rstrip())


def fit_widths(natural: Sequence[int], *, keep: Sequence[int], room: int) -> list[int]:
    """Column widths within ``room``: ``keep`` columns whole, the others share what is left.

    What is left is shared out fairly: a column narrower than its share keeps its width and
    hands the rest to the wider ones.
    """
    widths = list(natural)
    flexible = [i for i in range(len(widths)) if i not in keep]
    left = room - sum(widths[i] for i in keep)
    while flexible:
        share = max(3, left // len(flexible))
        narrow = [i for i in flexible if widths[i] <= share]
        if not narrow:
            for i in flexible:
                widths[i] = share
            break
        for i in narrow:
            left -= widths[i]
            flexible.remove(i)
    return widths


def _print_now(line: str) -> None:
    print(line, flush=True)


def short_time(stamp: str | None, now: str | None = None) -> str:
    """An ISO timestamp as a short time: ``in 59s``, ``in 4m``, ``14:03`` or a date; ``-`` for none."""
    if not stamp:
        return "-"
    when = datetime.fromisoformat(stamp)
    if now is not None:
        seconds = (when - datetime.fromisoformat(now)).total_seconds()
        if 0 <= seconds < 3600:
            return f"in {int(seconds)}s" if seconds < 120 else f"in {int(seconds // 60)}m"
        if -3600 < seconds < 0:
            return f"{int(-seconds)}s ago" if seconds > -120 else f"{int(-seconds // 60)}m ago"
        if abs(seconds) < 86400:
            return when.strftime("%H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M UTC")
