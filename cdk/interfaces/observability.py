"""The observability interface: synchronous, non-blocking sinks for what the router reports."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar

import attrs

from ..connector import ConfigT, Connector
from ..enums import ConnectorType, LogLevel, ObservabilityFeature, Severity
from ..events import RoutingEvent
from ..types import RequestLogEntry, TraceEntry

__all__ = ["Observability", "ObservabilityConfig"]

INTERFACE_VERSION = 1


@attrs.frozen(kw_only=True)
class ObservabilityConfig:
    """How much an observability connector receives."""

    min_severity: Severity = Severity.INFO
    log_level: LogLevel = LogLevel.METADATA


class Observability(Connector[ConfigT]):
    """Receives events, request logs, traces and stats.

    ``emit``/``log``/``trace``/``report`` are synchronous and must return at once: a
    connector that does I/O buffers and delivers in the background, and ``flush``
    delivers what is buffered. Subclasses override the ``handle_*`` methods; the
    public methods apply the severity filter and the log level first.
    """

    connector_type: ClassVar[ConnectorType] = ConnectorType.OBSERVABILITY
    interface_version: ClassVar[int] = INTERFACE_VERSION
    Config: ClassVar[type] = ObservabilityConfig
    #: What a sink delivers: records (the default), metrics (``METRICS`` without ``RECORDS``), or both.
    features: ClassVar[frozenset[Enum]] = frozenset({ObservabilityFeature.RECORDS})

    def emit(self, event: RoutingEvent) -> None:
        """Receive a routing event (the EventEmitter calls this)."""
        self.handle_event(event)

    def log(self, entry: RequestLogEntry) -> None:
        """Receive a request-log entry, trimmed to the configured log level."""
        self.handle_log(entry.at_level(self.log_level))

    def trace(self, entry: TraceEntry) -> None:
        """Receive a trace entry if its severity reaches ``min_severity``."""
        if entry.severity.rank >= self.min_severity.rank:
            self.handle_trace(entry)

    def report(self, stats: Mapping[str, Any]) -> None:
        """Receive a statistics snapshot."""
        self.handle_report(stats)

    async def flush(self) -> None:
        """Deliver whatever is buffered."""

    async def _aclose(self) -> None:
        await self.flush()

    @property
    def log_level(self) -> LogLevel:
        """How much of a request a log entry carries."""
        return getattr(self.config, "log_level", LogLevel.METADATA)

    @property
    def min_severity(self) -> Severity:
        """The lowest severity of trace entries that are kept."""
        return getattr(self.config, "min_severity", Severity.INFO)

    def handle_event(self, event: RoutingEvent) -> None:
        """Override to deliver an event."""

    def handle_log(self, entry: RequestLogEntry) -> None:
        """Override to deliver a log entry (already trimmed)."""

    def handle_trace(self, entry: TraceEntry) -> None:
        """Override to deliver a trace entry (already filtered)."""

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        """Override to deliver statistics."""
