"""A storage outage: when it began, one warning as it starts, one note as it ends, and the backoff.

The mesh goes on without its storage (see :mod:`.state_sync`); this records that it does, so
that an outage shows in ``status()`` and in the traces once, however many requests and
background runs meet it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock
from ..enums import Severity

__all__ = ["FIRST_RETRY", "LONGEST_RETRY", "StorageOutage"]

logger = logging.getLogger("meshkit.runtime.outage")

TraceSink = Callable[[Severity, str, dict[str, Any]], None]

#: Seconds before the first retry of an outage; each failed retry doubles the wait, up to the longest.
FIRST_RETRY = 1.0
LONGEST_RETRY = 30.0


class StorageOutage:
    """Whether the storage is out, since when and why, and when to try it again."""

    def __init__(self, clock: Clock, trace: TraceSink, *, storage: str) -> None:
        self.clock = clock
        self._trace = trace
        self.storage = storage
        self.since: datetime | None = None
        self.error: str | None = None
        self.failures = 0  # failed attempts in the current outage
        self.outages = 0  # outages since the mesh started
        self._next_try = 0.0  # the clock's monotonic time of the next retry

    @property
    def active(self) -> bool:
        """True from a failed storage operation until one succeeds again."""
        return self.since is not None

    def due(self) -> bool:
        """True when the backoff since the last failed attempt has passed."""
        return self.clock.monotonic() >= self._next_try

    def failed(self, what: str, error: BaseException, *, pending: int) -> None:
        """An attempt to ``what`` failed; the first failure of an outage is warned of, the rest not."""
        self.failures += 1
        self.error = f"{type(error).__name__}: {error}"
        wait = min(LONGEST_RETRY, FIRST_RETRY * 2 ** min(self.failures - 1, 16))
        self._next_try = self.clock.monotonic() + wait
        if self.since is not None:
            logger.debug("storage %s still unreachable (%s); next try in %gs", self.storage, self.error, wait)
            return
        self.since = self.clock.now()
        self.outages += 1
        message = (
            f"storage {self.storage} is unreachable: could not {what} ({self.error}); requests go on "
            "with the state in memory, which is written when the storage answers again (retried with backoff)"
        )
        logger.warning("%s", message)
        self._trace(
            Severity.WARNING, message, {"storage": self.storage, "error": self.error, "pending": pending}
        )

    def ended(self, *, written: int) -> None:
        """The storage answered again after an outage; ``written`` records held back were written."""
        if self.since is None:
            return
        lasted = self.clock.now() - self.since
        message = (
            f"storage {self.storage} answers again after {_duration(lasted)} and {self.failures} failed "
            f"attempts; {written} records held back were merged and written"
        )
        logger.info("%s", message)
        self._trace(
            Severity.INFO,
            message,
            {"storage": self.storage, "outage_seconds": lasted.total_seconds(), "written": written},
        )
        self.since = None
        self.error = None
        self.failures = 0
        self._next_try = 0.0

    def describe(self) -> dict[str, Any]:
        """The outage as plain data, for the status report."""
        if self.since is None:
            return {"status": "ok", "since": None, "error": None, "retries": 0, "next_retry_in": None}
        return {
            "status": "degraded",
            "since": self.since.isoformat(),
            "error": self.error,
            "retries": self.failures,
            "next_retry_in": max(0.0, self._next_try - self.clock.monotonic()),
        }


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"
