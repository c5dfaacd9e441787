"""What the router reports to observability sinks besides events: request logs and traces."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ..enums import LogLevel, Severity
from .responses import TokenUsage

__all__ = ["RequestLogEntry", "TraceEntry"]


@attrs.frozen(kw_only=True)
class RequestLogEntry:
    """One routed call as the request log sees it."""

    timestamp: datetime
    request_id: str
    model_id: str | None = None
    provider_id: str | None = None
    pool_id: str | None = None
    attempt: int = 1
    latency_ms: float | None = None
    status: str = "ok"
    status_code: int | None = None
    error_category: str | None = None
    error: str | None = None
    usage: TokenUsage | None = None
    cost: float | None = None
    request: Mapping[str, Any] | None = None
    response: Mapping[str, Any] | None = None

    def at_level(self, level: LogLevel) -> RequestLogEntry:
        """The entry trimmed to what ``level`` allows (payloads only at FULL)."""
        if level is LogLevel.FULL:
            return self
        payloads = self.request is not None or self.response is not None
        if level is LogLevel.SUMMARY:
            return attrs.evolve(self, request=None, response=None) if payloads else self
        if payloads or self.usage is not None or self.cost is not None:
            return attrs.evolve(self, request=None, response=None, usage=None, cost=None)
        return self  # nothing to trim: no copy


@attrs.frozen(kw_only=True)
class TraceEntry:
    """A structured diagnostic record."""

    timestamp: datetime
    severity: Severity
    message: str
    component: str = "meshkit"
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
