"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

An observability connector receives what the router reports: routing events, request
logs (trimmed to the configured log level), traces (filtered by severity) and
statistics. The calls are synchronous and must return at once. The skeleton collects
JSON-ready records, secrets masked, in a bounded in-memory buffer. REPLACE the
``handle_*`` methods to send records to your system; if sending does I/O, subclass
``meshkit.interfaces.BufferedObservability`` instead, which queues records (bounded,
counting drops) and delivers them in the background, with ``flush()`` and
``aclose()`` delivering what is left. Usable from mesh.yaml::

    observability:
      connectors:
        - connector: {{ cookiecutter.__connector_id }}
          config: {capacity: 5000}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs
from meshkit import RequestLogEntry, RoutingEvent, TraceEntry
from meshkit.interfaces import (
    Observability,
    ObservabilityConfig,
    check,
    event_record,
    log_record,
    report_record,
    trace_record,
)

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config(ObservabilityConfig):
    """min_severity and log_level are inherited; REPLACE/extend with your system's settings."""

    #: The most records kept; beyond it the oldest go, and are counted in ``dropped``.
    capacity: int = attrs.field(default=10_000, validator=check(lambda v: v >= 1, "at least 1"))


class {{ cookiecutter.__class_name }}(
    {{ cookiecutter.__base_class }}[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    description = {{ cookiecutter.__description_literal }}

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.records: deque[dict[str, Any]] = deque(maxlen=self.config.capacity)
        #: Records pushed out of the full buffer.
        self.dropped = 0

    # The base class applies min_severity and log_level before calling these. Every
    # record goes through meshkit's redaction (the *_record helpers): a secret in an
    # event's metadata or a request's headers is masked before it is kept.

    def handle_event(self, event: RoutingEvent) -> None:
        self._keep(event_record(event))

    def handle_log(self, entry: RequestLogEntry) -> None:
        self._keep(log_record(entry))

    def handle_trace(self, entry: TraceEntry) -> None:
        self._keep(trace_record(entry))

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        self._keep(report_record(stats, self.clock.now()))

    async def flush(self) -> None:
        """Nothing to deliver: records are kept as they arrive. REPLACE if you buffer."""

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """The kept records of one kind: ``event``, ``log``, ``trace`` or ``report``."""
        return [record for record in self.records if record["kind"] == kind]

    def _keep(self, record: dict[str, Any]) -> None:
        if len(self.records) == self.records.maxlen:
            self.dropped += 1
        self.records.append(record)
