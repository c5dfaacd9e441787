"""``meshkit.console.v1``: one human-readable line per event, log and trace, on stderr.

Each call formats its line at once and hands it to a writer thread, which writes it
straight away: a terminal shows it as soon as it would have shown a direct write, and
a stream that stalls (a pipe nobody drains) stalls that thread, never the router.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, Any, Literal

import anyio
import attrs

from meshkit import EventType, ObservabilityFeature, RequestLogEntry, RoutingEvent, Severity, TraceEntry
from meshkit.interfaces import Observability, ObservabilityConfig, check, redact, redact_entry

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
    #: Lines waiting for the writer at most; beyond it new lines are dropped and counted.
    queue_size: int = attrs.field(default=10_000, validator=check(lambda v: v > 0, "a positive whole number"))


class LineWriter:
    """Writes lines to a stream from a daemon thread, in order, as soon as they come.

    ``put`` never waits: with ``limit`` lines already waiting, the line is dropped and
    counted in ``dropped``. ``drain`` waits until every line put so far is written.
    """

    def __init__(self, stream: Callable[[], IO[str]], limit: int, name: str) -> None:
        self._stream = stream
        self._limit = limit
        self._name = name
        self._lines: deque[str] = deque()
        self._changed = threading.Condition()
        self._writing = False
        self._closing = False
        self._thread: threading.Thread | None = None
        #: Lines never written because too many were waiting.
        self.dropped = 0

    def put(self, line: str) -> None:
        """Queue ``line`` for the writer thread; drop it if ``limit`` lines are waiting."""
        with self._changed:
            if len(self._lines) >= self._limit:
                self.dropped += 1
                return
            self._lines.append(line)
            self._changed.notify_all()
        if self._thread is None:
            self.start()

    def start(self) -> None:
        """Start the writer thread (once)."""
        with self._changed:
            if self._thread is not None:
                return
            self._closing = False
            self._thread = threading.Thread(target=self._run, name=f"{self._name}-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._lines:
                    if self._closing:
                        self._thread = None
                        return
                    self._changed.wait()
                line = self._lines.popleft()
                self._writing = True
            try:
                self._stream().write(line)
            except Exception:
                # A closed or broken stream must not stop the writer, nor reach the router.
                logger.exception("%s: could not write to the console stream", self._name)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()

    def close(self) -> None:
        """Let the thread end once every waiting line is written; a later ``put`` starts another."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every line put so far is written; False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._lines and not self._writing, timeout)


class ConsoleObservability(Observability[ConsoleConfig]):
    """Writes each record as one line, from a writer thread so that no call waits on the stream.

    Lines go out in order, as soon as the thread gets to them; ``flush()`` (and so
    ``aclose()``) waits until every line so far is written and flushes the stream.
    """

    connector_id = "meshkit.console.v1"
    description = "Human-readable lines on stderr, coloured on a terminal"
    features = frozenset({ObservabilityFeature.RECORDS, ObservabilityFeature.BUFFERED})  # type: ignore[assignment]
    Config = ConsoleConfig

    def __init__(self, config: Any = None, *, stream: IO[str] | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._stream = stream
        self._kinds = frozenset(self.config.kinds)
        self.writer = LineWriter(lambda: self.stream, self.config.queue_size, self.name)

    @property
    def dropped(self) -> int:
        """Lines dropped because the stream did not keep up."""
        return self.writer.dropped

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
            self.writer.put(line + "\n")
        except Exception:
            logger.exception("%s: could not format a console line", self.name)

    async def _start(self) -> None:
        self.writer.start()

    async def flush(self) -> None:
        """Wait until every line so far is written (in a worker thread), then flush the stream."""
        await anyio.to_thread.run_sync(self._drain_and_flush)

    async def _aclose(self) -> None:
        await self.flush()
        self.writer.close()

    def _drain_and_flush(self) -> None:
        self.writer.drain()
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


def parse_line(line: str) -> tuple[str, str, dict[str, Any]] | None:
    """A line read back: its label, headline and fields (None for a line of another shape).

    Values come back as JSON reads them where they are JSON, else as text. A trace's
    headline is its message up to the first field, which may hold spaces.
    """
    line = line.removeprefix("\x1b[").partition("m")[2] if line.startswith("\x1b[") else line
    line = line.removesuffix(_RESET)
    found = _LINE.fullmatch(line)
    if found is None:
        return None
    label, rest = found.group(1), found.group(2)
    headline, fields = _split_fields(rest, whole_headline=label not in {"EVENT", "LOG", "REPORT"})
    return label, headline, fields


_LINE = re.compile(r"\d{4}-\d\d-\d\dT\S+ (\S+) +(.*)")
_FIELD = re.compile(r" ([A-Za-z_][A-Za-z0-9_.-]*)=")
_JSON = json.JSONDecoder()


def _split_fields(rest: str, *, whole_headline: bool) -> tuple[str, dict[str, Any]]:
    if whole_headline:
        first = _FIELD.search(rest)
        headline, tail = (rest[: first.start()], rest[first.start() :]) if first else (rest, "")
    else:
        _, size = _next_value(rest)
        headline, tail = rest[:size], rest[size:]
    fields: dict[str, Any] = {}
    while (found := _FIELD.match(tail)) is not None:
        tail = tail[found.end() :]
        value, size = _next_value(tail)
        fields[found.group(1)] = value
        tail = tail[size:]
    return headline, fields


def _next_value(text: str) -> tuple[Any, int]:
    """The value at the start of ``text`` and its length: JSON where it parses, else a word."""
    if text.startswith(("{", "[", '"')):
        try:
            return _JSON.raw_decode(text)
        except ValueError:
            pass
    size = text.find(" ") if " " in text else len(text)
    word = text[:size]
    try:
        return json.loads(word), size
    except ValueError:
        return word, size
