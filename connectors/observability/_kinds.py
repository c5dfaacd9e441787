"""The kinds of record an observability sink receives, for sinks that let users pick some."""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["event", "log", "trace", "report"]

KINDS: tuple[Kind, ...] = get_args(Kind)


def all_kinds() -> list[Kind]:
    """Every kind, the default selection."""
    return list(KINDS)
