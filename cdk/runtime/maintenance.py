"""Maintenance windows from cron expressions (the ``cronsim`` library, extra ``meshkit[cron]``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "MaintenanceCalendar",
    "MaintenanceWindowLike",
    "active_window_end",
    "next_window_start",
    "validate_cron",
]

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class MaintenanceWindowLike(Protocol):
    """A cron expression and how long each window lasts."""

    @property
    def cron(self) -> str: ...

    @property
    def duration(self) -> timedelta: ...


def _cronsim() -> Any:
    try:
        import cronsim
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "maintenance windows need the cronsim library: pip install 'meshkit[cron]'"
        ) from None
    return cronsim


def validate_cron(expression: str) -> bool:
    """True when ``expression`` is a cron expression cronsim understands."""
    cronsim = _cronsim()
    try:
        cronsim.CronSim(expression, _EPOCH)
    except cronsim.CronSimError:
        return False
    return True


def active_window_end(windows: Sequence[MaintenanceWindowLike], now: datetime) -> datetime | None:
    """When the maintenance window ``now`` falls in ends (the latest, if several overlap), or None."""
    cronsim = _cronsim()
    end: datetime | None = None
    probe = now.astimezone(UTC) + timedelta(microseconds=1)  # reverse iteration is strictly before
    for window in windows:
        started = next(cronsim.CronSim(window.cron, probe, reverse=True), None)
        if started is None:
            continue
        window_end = started + window.duration
        if window_end > now and (end is None or window_end > end):
            end = window_end
    return end


def next_window_start(windows: Sequence[MaintenanceWindowLike], now: datetime) -> datetime:
    """When the next maintenance window after ``now`` starts (far future when none)."""
    cronsim = _cronsim()
    starts = [next(cronsim.CronSim(w.cron, now.astimezone(UTC)), None) for w in windows]
    found = [s for s in starts if s is not None]
    return min(found) if found else now + timedelta(days=3650)


class MaintenanceCalendar:
    """Whether each model is in a maintenance window now, remembered until that can change.

    Evaluating cron expressions costs far more than a routing decision, so each answer is
    kept until the current window ends or the next one could start.
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[datetime | None, datetime]] = {}  # model → (end, valid until)

    def window_end(
        self, model_id: str, windows: Sequence[MaintenanceWindowLike], now: datetime
    ) -> datetime | None:
        """When the window ``model_id`` is in now ends, or None outside any window."""
        if not windows:
            return None
        cached = self._known.get(model_id)
        if cached is not None and cached[1] > now:
            return cached[0] if cached[0] is not None and cached[0] > now else None
        end = active_window_end(windows, now)
        valid_until = end if end is not None else next_window_start(windows, now)
        self._known[model_id] = (end, valid_until)
        return end
