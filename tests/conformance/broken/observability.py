"""A buffered sink done right, and copies of it that each get one thing wrong."""

from __future__ import annotations

import json
import queue
import secrets
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs

from meshkit.connectors.observability.jsonl import JsonlObservability, RotatingFile
from meshkit.enums import ObservabilityFeature
from meshkit.events import RoutingEvent
from meshkit.interfaces.buffered import BufferedObservability
from meshkit.interfaces.observability import Observability
from meshkit.interfaces.redaction import redact, redact_entry, redact_text
from meshkit.testing import Delivered
from meshkit.testing.blocking import StallGate
from meshkit.types import RequestLogEntry, Secret, TraceEntry

Record = RoutingEvent | RequestLogEntry | TraceEntry


class Target:
    """Where the sinks of this module deliver: a list that a StallGate can make stuck.

    Like many ingestion APIs it takes batches of ``MAX_BATCH`` records at most; a larger one
    is kept (so that nothing else fails) but breaks its rule.
    """

    MAX_BATCH = 100

    def __init__(self) -> None:
        self.records: list[Any] = []
        self.gate: StallGate | None = None
        self.oversized: list[int] = []

    def send(self, batch: list[Any]) -> None:
        """Deliver ``batch``, waiting while the target is stuck (like a socket that stopped)."""
        if self.gate is not None:
            self.gate.wait()
        if len(batch) > self.MAX_BATCH:
            self.oversized.append(len(batch))
        self.records.extend(batch)

    @property
    def stuck(self) -> bool:
        """True while a stall is in force."""
        return self.gate is not None and not self.gate.released


def _scrub(record: Record) -> Record:
    """The record with secrets and credentials in text masked."""
    if isinstance(record, RequestLogEntry):
        return redact_entry(record)
    if isinstance(record, TraceEntry):
        return attrs.evolve(record, message=redact_text(record.message), metadata=redact(record.metadata))
    return attrs.evolve(record, metadata=redact(record.metadata))


class BufferedSink(Observability):
    """Buffers in memory; ``flush`` hands the buffer to the target in batches, in a worker thread."""

    connector_id = "reference.buffered-sink.v1"
    features = frozenset({ObservabilityFeature.RECORDS, ObservabilityFeature.BUFFERED})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer: list[Record] = []
        self.target = Target()
        self.dropped = 0

    @property
    def delivered(self) -> list[Any]:
        """What reached the target."""
        return self.target.records

    def _keep(self, record: Record) -> None:
        if len(self.buffer) >= 10_000:
            self.dropped += 1
        else:
            self.buffer.append(_scrub(record))

    def handle_event(self, event: RoutingEvent) -> None:
        self._keep(event)

    def handle_log(self, entry: RequestLogEntry) -> None:
        self._keep(entry)

    def handle_trace(self, entry: TraceEntry) -> None:
        self._keep(entry)

    def _take(self, size: int = 100) -> list[Record]:
        batch = self.buffer[:size]
        del self.buffer[:size]
        return batch

    async def flush(self) -> None:
        while self.buffer:
            await anyio.to_thread.run_sync(self.target.send, self._take())


async def collect(sink: Any) -> Delivered:
    """What a sink of this module delivered (objects, or records as the buffered base makes them)."""
    target: Target = sink.target
    records = target.records
    limit = Target.MAX_BATCH
    problems = [f"a batch of {n} records; the target takes {limit} at most" for n in target.oversized]
    if records and isinstance(records[0], Mapping):
        kinds: dict[str, list[Mapping[str, Any]]] = {"event": [], "log": [], "trace": []}
        for record in records:
            kinds.get(str(record.get("kind")), []).append(record)
        return Delivered(events=kinds["event"], logs=kinds["log"], traces=kinds["trace"], problems=problems)
    return attrs.evolve(Delivered.of(records), problems=problems)


def stall(sink: Any) -> Callable[[], None]:
    """Make the sink's target stuck; the gate it returns releases it."""
    gate = StallGate()
    sink.target.gate = gate
    return gate


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
            self.target.send([record])
            self._queue.task_done()

    def _keep(self, record: Record) -> None:
        self._queue.put(_scrub(record))  # blocks the router while the target is stuck

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
        self.buffer.append(attrs.evolve(entry, request=_plain(entry.request)))


class SeverityOffByOne(BufferedSink):
    """Defect: keeps traces strictly above min_severity, dropping those at it."""

    connector_id = "defect.severity-off-by-one.v1"

    def trace(self, entry: TraceEntry) -> None:
        if entry.severity.rank > self.min_severity.rank:
            self.handle_trace(entry)


class FlushesInline(BufferedSink):
    """Defect: delivers from inside emit once the flush interval has passed, instead of in the background."""

    connector_id = "defect.flushes-inline.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_flush = self.clock.monotonic()

    def _keep(self, record: Record) -> None:
        super()._keep(record)
        if self.clock.monotonic() - self._last_flush >= 5:
            self._last_flush = self.clock.monotonic()
            while self.buffer:
                self.target.send(self._take())


class AppendsPerRecord(BufferedSink):
    """Defect: appends each record to a file as it comes, opening it in the caller's thread."""

    connector_id = "defect.appends-per-record.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._file = Path(tempfile.gettempdir()) / f"meshkit-broken-{secrets.token_hex(6)}.log"

    def _keep(self, record: Record) -> None:
        super()._keep(record)
        with open(self._file, "a") as handle:
            handle.write(f"{type(record).__name__}\n")

    async def _aclose(self) -> None:
        await super()._aclose()
        self._file.unlink(missing_ok=True)


class OneBatchFlush(BufferedSink):
    """Defect: ``flush`` sends the next batch, leaving the rest for the next timer tick."""

    connector_id = "defect.one-batch-flush.v1"

    async def flush(self) -> None:
        if self.buffer:
            await anyio.to_thread.run_sync(self.target.send, self._take())


class OneShotFlush(BufferedSink):
    """Defect: ``flush`` sends the whole buffer as one batch, whatever the target takes."""

    connector_id = "defect.one-shot-flush.v1"

    async def flush(self) -> None:
        if self.buffer:
            await anyio.to_thread.run_sync(self.target.send, self._take(len(self.buffer)))


class SecretObjectsOnly(BufferedSink):
    """Defect: masks Secret objects, and lets credentials in plain strings through."""

    connector_id = "defect.secret-objects-only.v1"

    def _keep(self, record: Record) -> None:
        if isinstance(record, RequestLogEntry):
            record = attrs.evolve(record, request=_masked(record.request), response=_masked(record.response))
        self.buffer.append(record)


def _masked(value: Any) -> Any:
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class GivesUpWhenStuck(BufferedObservability):
    """Defect: its background worker treats a stuck target as down and gives the batch up."""

    connector_id = "defect.gives-up-when-stuck.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = Target()

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        if self.target.stuck:
            raise ConnectionError("the target does not answer")
        self.target.send(batch)


class _FreshFileOnOpen(RotatingFile):
    """Closes the file after every batch, so a log shipper sees whole lines, and starts a new file
    whenever it opens one that already holds lines, as a process restarting should."""

    def write_records(self, records: list[dict[str, Any]]) -> None:
        super().write_records(records)
        self.close()

    def _open(self) -> Any:
        if self.path.exists() and self.path.stat().st_size:
            self._rotate()
        return super()._open()


class RotatesEveryBatch(JsonlObservability):
    """Defect: its file rotates at every batch, far from full: the backups that ``backups`` keeps
    hold minutes, not ``max_bytes`` each, and older records go long before their time."""

    connector_id = "defect.rotates-every-batch.v1"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._file = _FreshFileOnOpen(self.path, self.config.max_bytes, self.config.backups)


class ClaimsToDiscard(BufferedSink):
    """Defect: declares 'discards' beside what it delivers, so that no delivery test applies."""

    connector_id = "defect.claims-to-discard.v1"
    features = BufferedSink.features | {ObservabilityFeature.DISCARDS}


CONNECTORS: list[type[Any]] = [
    BufferedSink,
    ClaimsToDiscard,
    BlockingEmit,
    RaisingEmit,
    DropsOnClose,
    IgnoresLogLevel,
    RevealsSecrets,
    SeverityOffByOne,
    FlushesInline,
    AppendsPerRecord,
    OneBatchFlush,
    OneShotFlush,
    SecretObjectsOnly,
    GivesUpWhenStuck,
    RotatesEveryBatch,
]
EXPECTED = {
    "defect.claims-to-discard.v1": "test_declares_what_it_delivers",
    "defect.blocking-emit.v1": "test_emit_never_blocks",
    "defect.raising-emit.v1": "test_emit_log_trace_report_never_raise",
    "defect.drops-on-close.v1": "test_aclose_delivers_what_was_buffered",
    "defect.ignores-log-level.v1": "test_log_level_trims_entries",
    "defect.reveals-secrets.v1": "test_secrets_are_redacted",
    "defect.severity-off-by-one.v1": "test_trace_severity_filter",
    "defect.flushes-inline.v1": "test_emit_never_blocks",
    "defect.appends-per-record.v1": "test_emit_never_blocks",
    "defect.one-batch-flush.v1": "test_flush_delivers_what_was_buffered",
    "defect.one-shot-flush.v1": "test_delivery_keeps_the_targets_rules",
    "defect.secret-objects-only.v1": "test_plain_text_credentials_are_redacted",
    "defect.gives-up-when-stuck.v1": "test_buffered_delivery_waits_out_a_stuck_target",
    "defect.rotates-every-batch.v1": "test_delivery_keeps_the_targets_rules",
}
