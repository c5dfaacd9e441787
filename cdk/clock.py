"""Time, behind one seam: the runtime and connectors read a Clock; tests pass a ``FakeClock``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock", "now_reader", "posix_seconds"]


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


def now_reader(clock: Clock) -> Callable[[], datetime]:
    """A function that reads ``clock.now()``; for the real clock, ``datetime.now(UTC)`` called from C."""
    if type(clock) is SystemClock:
        return partial(datetime.now, UTC)
    return clock.now
