"""The UTC calendar periods that caps, budgets and quota resets count in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = ["Period", "day_of", "month_of", "next_boundary"]


class Period(StrEnum):
    """A UTC calendar period."""

    DAILY = "daily"
    MONTHLY = "monthly"


def day_of(now: datetime) -> str:
    """The UTC day of ``now``, e.g. ``2026-01-31``."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def month_of(now: datetime) -> str:
    """The UTC month of ``now``, e.g. ``2026-01``."""
    return now.astimezone(UTC).strftime("%Y-%m")


def next_boundary(now: datetime, period: Period) -> datetime:
    """The start of the next UTC day (``daily``) or month (``monthly``) after ``now``."""
    now = now.astimezone(UTC)
    if period == Period.DAILY:
        return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    if now.month == 12:
        return datetime(now.year + 1, 1, 1, tzinfo=UTC)
    return datetime(now.year, now.month + 1, 1, tzinfo=UTC)
