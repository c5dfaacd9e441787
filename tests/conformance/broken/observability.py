"""A buffered sink done right, and copies of it that each get one thing wrong."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import attrs

from meshkit.enums import ObservabilityFeature
from meshkit.events import RoutingEvent
from meshkit.interfaces.observability import Observability
from meshkit.testing import Delivered
from meshkit.types import RequestLogEntry, Secret, TraceEntry

Record = RoutingEvent | RequestLogEntry | TraceEntry


class BufferedSink(Observability):
    """Buffers in memory and delivers to ``delivered`` on flush while its target is reachable."""

    connector_id = "reference.buffered-sink.v1"
    features = frozenset({ObservabilityFeature.BUFFERED})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer: list[Record] = []
        self.delivered: list[Record] = []
        self.reachable = threading.Event()
        self.reachable.set()
        self.dropped = 0

    def _keep(self, record: Record) -> None:
        if len(self.buffer) >= 10_000:
            self.dropped += 1
        else:
            self.buffer.append(record)

    def handle_event(self, event: RoutingEvent) -> None:
        self._keep(event)

    def handle_log(self, entry: RequestLogEntry) -> None:
        self._keep(entry)

    def handle_trace(self, entry: TraceEntry) -> None:
        self._keep(entry)

    async def flush(self) -> None:
        if self.reachable.is_set():
            self.delivered += self.buffer
            self.buffer.clear()


async def collect(sink: Any) -> Delivered:
    """What a sink of this module delivered."""
    return Delivered.of(sink.delivered)


def stall(sink: Any) -> Callable[[], None]:
    """Make the sink's target unreachable; return what makes it reachable again."""
    sink.reachable.clear()
    return sink.reachable.set  # type: ignore[no-any-return]


class BlockingEmit(BufferedSink):
    """Defect: hands records to a delivery thread through a bounded queue, waiting when it is full."""

    connector_id = "defect.blocking-emit.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: queue.Queue[Record | None] = queue.Queue(maxsize=64)
        self._thread: threading.Thread | None = None

    async def _start(self) -> None:
        self._thread = threading.Thread(target=self._deliver, daemon=True)
        self._thread.start()

    def _deliver(self) -> None:
        while (record := self._queue.get()) is not None:
            self.reachable.wait()
            self.delivered.append(record)
            self._queue.task_done()

    def _keep(self, record: Record) -> None:
        self._queue.put(record)  # blocks the router while the target is stuck

    async def flush(self) -> None:
        await anyio.to_thread.run_sync(self._queue.join)

    async def _aclose(self) -> None:
        await self.flush()
        self._queue.put(None)


class RaisingEmit(BufferedSink):
    """Defect: serialises metadata eagerly and raises on values JSON does not know."""

    connector_id = "defect.raising-emit.v1"

    def handle_event(self, event: RoutingEvent) -> None:
        json.dumps(event.metadata)
        super().handle_event(event)


class DropsOnClose(BufferedSink):
    """Defect: closing discards what is still buffered."""

    connector_id = "defect.drops-on-close.v1"

    async def _aclose(self) -> None:
        self.buffer.clear()


class IgnoresLogLevel(BufferedSink):
    """Defect: logs whole entries whatever the configured level."""

    connector_id = "defect.ignores-log-level.v1"

    def log(self, entry: RequestLogEntry) -> None:
        self.handle_log(entry)


def _plain(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class RevealsSecrets(BufferedSink):
    """Defect: turns Secrets into their values so that payloads serialise."""

    connector_id = "defect.reveals-secrets.v1"

    def handle_log(self, entry: RequestLogEntry) -> None:
        super().handle_log(attrs.evolve(entry, request=_plain(entry.request)))


class SeverityOffByOne(BufferedSink):
    """Defect: keeps traces strictly above min_severity, dropping those at it."""

    connector_id = "defect.severity-off-by-one.v1"

    def trace(self, entry: TraceEntry) -> None:
        if entry.severity.rank > self.min_severity.rank:
            self.handle_trace(entry)


CONNECTORS: list[type[Any]] = [
    BufferedSink,
    BlockingEmit,
    RaisingEmit,
    DropsOnClose,
    IgnoresLogLevel,
    RevealsSecrets,
    SeverityOffByOne,
]
EXPECTED = {
    "defect.blocking-emit.v1": "test_emit_never_blocks",
    "defect.raising-emit.v1": "test_emit_log_trace_report_never_raise",
    "defect.drops-on-close.v1": "test_aclose_delivers_what_was_buffered",
    "defect.ignores-log-level.v1": "test_log_level_trims_entries",
    "defect.reveals-secrets.v1": "test_secrets_are_redacted",
    "defect.severity-off-by-one.v1": "test_trace_severity_filter",
}
