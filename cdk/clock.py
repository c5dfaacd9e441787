"""Time, behind one seam: the runtime and connectors read a Clock; tests pass a ``FakeClock``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock", "posix_seconds"]


@runtime_checkable
class Clock(Protocol):
    """Where every time decision reads the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for measuring durations."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (0 or less yields once)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


def posix_seconds(clock: Clock) -> float:
    """``clock.now()`` as POSIX seconds; read straight from the system on the real clock.

    Counting windows need only the seconds: the real clock then skips building a datetime.
    """
    if type(clock) is SystemClock:
        return time.time()
    return clock.now().timestamp()
