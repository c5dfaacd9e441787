"""``meshkit.console.v1``: one human-readable line per event, log and trace, on stderr."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Any, Literal

import attrs

from meshkit import EventType, RequestLogEntry, RoutingEvent, Severity, TraceEntry
from meshkit.interfaces import Observability, ObservabilityConfig, redact, redact_entry

from ._kinds import Kind, all_kinds

logger = logging.getLogger("meshkit.observability")

_RESET = "\x1b[0m"
_RED, _GREEN, _YELLOW, _CYAN, _DIM, _BOLD_RED = (
    "\x1b[31m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[2m",
    "\x1b[1;31m",
)
_EVENT_COLOURS = {
    EventType.MODEL_ACTIVATED: _GREEN,
    EventType.PROVIDER_RECOVERED: _GREEN,
    EventType.MODEL_DEACTIVATED: _RED,
    EventType.PROVIDER_DEACTIVATED: _RED,
    EventType.MODEL_ROTATED: _YELLOW,
}
_SEVERITY_COLOURS = {
    Severity.DEBUG: _DIM,
    Severity.INFO: "",
    Severity.WARNING: _YELLOW,
    Severity.ERROR: _RED,
    Severity.CRITICAL: _BOLD_RED,
}


@attrs.frozen(kw_only=True)
class ConsoleConfig(ObservabilityConfig):
    """Where the lines go and whether they are coloured."""

    #: ``stderr`` or ``stdout``; code may pass any text stream as ``stream=`` instead.
    stream: Literal["stderr", "stdout"] = "stderr"
    #: ``auto`` colours only a terminal and only when NO_COLOR is unset.
    color: Literal["auto", "always", "never"] = "auto"
    #: Which records are written: any of ``event``, ``log``, ``trace``, ``report``.
    kinds: list[Kind] = attrs.field(factory=all_kinds)


class ConsoleObservability(Observability[ConsoleConfig]):
    """Writes each record as one line, synchronously, like a logging StreamHandler.

    Lines are short and go to a terminal or a pipe that a supervisor drains, so a
    write returns at once in practice; for large volumes use ``meshkit.jsonl.v1``.
    """

    connector_id = "meshkit.console.v1"
    description = "Human-readable lines on stderr, coloured on a terminal"
    Config = ConsoleConfig

    def __init__(self, config: Any = None, *, stream: IO[str] | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._stream = stream
        self._kinds = frozenset(self.config.kinds)

    @property
    def stream(self) -> IO[str]:
        """The stream written to (looked up on each write, so a redirected stderr is followed)."""
        if self._stream is not None:
            return self._stream
        return sys.stdout if self.config.stream == "stdout" else sys.stderr

    @property
    def coloured(self) -> bool:
        """True when lines carry ANSI colours."""
        if self.config.color != "auto":
            return bool(self.config.color == "always")
        if os.environ.get("NO_COLOR"):
            return False
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (OSError, ValueError):
            return False

    def handle_event(self, event: RoutingEvent) -> None:
        if "event" in self._kinds:
            colour = _EVENT_COLOURS.get(event.event_type, _CYAN)
            fields = {
                "pool": event.pool_id,
                "model": event.model_id,
                "provider": event.provider_id,
                **redact(event.metadata),
            }
            self._write(event.timestamp, "EVENT", event.event_type.value, colour, fields)

    def handle_log(self, entry: RequestLogEntry) -> None:
        if "log" not in self._kinds:
            return
        entry = redact_entry(entry)
        fields: dict[str, Any] = {
            "request": entry.request_id,
            "pool": entry.pool_id,
            "model": entry.model_id,
            "provider": entry.provider_id,
            "attempt": entry.attempt,
            "latency_ms": None if entry.latency_ms is None else round(entry.latency_ms, 1),
            "status_code": entry.status_code,
            "error_category": entry.error_category,
            "error": entry.error,
            "tokens": entry.usage.total_tokens if entry.usage else None,
            "cost": entry.cost,
            "request_body": entry.request,
            "response_body": entry.response,
        }
        colour = _GREEN if entry.status == "ok" else _RED
        self._write(entry.timestamp, "LOG", entry.status, colour, fields)

    def handle_trace(self, entry: TraceEntry) -> None:
        if "trace" in self._kinds:
            fields = {"component": entry.component, **redact(entry.metadata)}
            colour = _SEVERITY_COLOURS.get(entry.severity, "")
            label = entry.severity.value.upper()
            self._write(entry.timestamp, label, redact(entry.message), colour, fields)

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        if "report" in self._kinds:
            self._write(self.clock.now(), "REPORT", _compact(redact(stats)), "", {})

    def _write(
        self, when: datetime, label: str, headline: str, colour: str, fields: Mapping[str, Any]
    ) -> None:
        try:
            line = _line(when, label, headline, fields)
            if colour and self.coloured:
                line = f"{colour}{line}{_RESET}"
            self.stream.write(line + "\n")
        except Exception:
            # A closed or broken stream must not reach the router.
            logger.exception("%s: could not write to the console stream", self.name)

    async def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            logger.warning("%s: could not flush the console stream", self.name)


def _line(when: datetime, label: str, headline: str, fields: Mapping[str, Any]) -> str:
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    parts = [stamp, f"{label:<8}", headline]
    parts.extend(f"{key}={_value(value)}" for key, value in fields.items() if value is not None)
    return " ".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value) if (not value or any(c.isspace() or c in '"=' for c in value)) else value
    return _compact(value)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
