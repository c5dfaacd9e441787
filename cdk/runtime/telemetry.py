"""Where the runtime reports: routing events, request logs, traces and stats reports.

Every part of the runtime reports through one :class:`Telemetry`; a part that traces holds
its own :class:`Tracer`, so each trace entry names the component that raised it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..clock import Clock
from ..enums import LogLevel, Severity
from ..events import EventEmitter, RoutingEvent
from ..interfaces.observability import Observability
from ..types import RequestLogEntry, TraceEntry
from .settings import ObservabilitySettings

__all__ = ["Telemetry", "Tracer"]

logger = logging.getLogger("meshkit.runtime.telemetry")


class Telemetry:
    """Delivers events to subscribers, and logs, traces and reports to observability sinks."""

    def __init__(self, events: EventEmitter, settings: ObservabilitySettings, clock: Clock) -> None:
        self.events = events
        self.settings = settings
        self.clock = clock
        self._min_severity = settings.tracing.min_severity.rank

    @property
    def wants_payloads(self) -> bool:
        """True when request logs carry the request and the reply (log level ``full``)."""
        return self.settings.logging.level is LogLevel.FULL

    @property
    def wants_logs(self) -> bool:
        """True when some observability sink would receive request log entries."""
        return any(isinstance(s, Observability) for s in self.events.subscribers)

    def tracer(self, component: str) -> Tracer:
        """A tracer whose entries name ``component``."""
        return Tracer(self, component)

    def sinks(self) -> list[Observability]:
        """The observability connectors subscribed to the events."""
        return [s for s in self.events.subscribers if isinstance(s, Observability)]

    def emit(self, event: RoutingEvent) -> None:
        """One routing event, to every subscriber."""
        self.events.emit(event)

    def log(self, entry: RequestLogEntry) -> None:
        """One request log entry, trimmed to the configured level, to every sink."""
        sinks = self.sinks()
        if not sinks:
            return
        trimmed = entry.at_level(self.settings.logging.level)
        for sink in sinks:
            try:
                sink.log(trimmed)
            except Exception:
                logger.exception("observability connector %s failed on a request log entry", sink.name)

    def trace(self, component: str, severity: Severity, message: str, metadata: dict[str, Any]) -> None:
        """One trace entry from ``component``, when it is at least the configured severity."""
        if severity.rank < self._min_severity:
            return
        entry = TraceEntry(
            timestamp=self.clock.now(),
            severity=severity,
            message=message,
            component=component,
            metadata=metadata,
        )
        for sink in self.sinks():
            try:
                sink.trace(entry)
            except Exception:
                logger.exception("observability connector %s failed on a trace entry", sink.name)

    def report(self, stats: Mapping[str, Any]) -> None:
        """A stats report (the mesh's status), to every sink."""
        for sink in self.sinks():
            try:
                sink.report(stats)
            except Exception:
                logger.exception("observability connector %s failed on a stats report", sink.name)


class Tracer:
    """Traces on behalf of one component: ``tracer(Severity.WARNING, "message", {...})``."""

    __slots__ = ("component", "telemetry")

    def __init__(self, telemetry: Telemetry, component: str) -> None:
        self.telemetry = telemetry
        self.component = component

    def __call__(self, severity: Severity, message: str, metadata: dict[str, Any]) -> None:
        self.telemetry.trace(self.component, severity, message, metadata)
