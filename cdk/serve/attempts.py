"""How many attempts a request took, read from the request log as the router writes it.

The router logs every attempt synchronously in the task that routes the request, so a
context variable set around the call sees exactly that request's entries, however many
requests are in flight.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import ClassVar

import attrs

from ..interfaces.observability import Observability
from ..types import RequestLogEntry

__all__ = ["AttemptTally", "AttemptTracker", "counting_attempts"]


@attrs.define
class AttemptTally:
    """The attempts logged so far for one request; an answer in progress is one more."""

    logged: int = 0

    def attempts(self, *, answered: bool) -> int:
        """Attempts made, counting the one that is answering now (streams log it at the end)."""
        return self.logged + (1 if answered else 0)


_current: ContextVar[AttemptTally | None] = ContextVar("meshkit_serve_attempts", default=None)


def counting_attempts() -> AttemptTally:
    """A tally for the request being handled in this task."""
    tally = AttemptTally()
    _current.set(tally)
    return tally


class AttemptTracker(Observability):
    """An observability sink that counts request-log entries into the current tally."""

    connector_id: ClassVar[str] = "meshkit.serve-attempts.v1"

    def handle_log(self, entry: RequestLogEntry) -> None:
        tally = _current.get()
        if tally is not None and entry.status != "ok":
            tally.logged += 1
