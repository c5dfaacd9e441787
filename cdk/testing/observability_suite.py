"""The observability contract: sinks take everything, never raise, never block, leak nothing.

What was delivered is checked only when the spec gives ``collect_delivered``; without
it the suite checks that every call returns and never raises.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs
import pytest

from ..enums import ConnectorType, EventType, LogLevel, ObservabilityFeature, Severity
from ..errors import ConfigError
from ..events import RoutingEvent
from ..interfaces.observability import Observability
from ..types import RequestLogEntry, Secret, TokenUsage, TraceEntry
from .base import ConformanceSuite
from .blocking import CallWatch, StallGate, watch_blocking_calls
from .fake_clock import FakeClock
from .observability_metrics import MetricsTests
from .spec import Delivered
from .target import ConformanceTarget

__all__ = ["ObservabilitySuite"]

#: How long a call may make no progress before the guard looks at what it is doing. This
#: decides when to look, not the verdict: a call found waiting (on a lock, a condition, a
#: socket: see CallWatch) fails, since the stuck target never frees it; a call found running
#: is looked at again, HANG_LOOKS times at most, after which it is taken as hung (a hang
#: guard only: without it a broken sink would hang the run). An honest call takes
#: microseconds; StallGate and the audit hooks catch most defects deterministically first.
HANG_SECONDS = 5.0
HANG_LOOKS = 12
#: Calls per round, rounds (the injected clock moves a flush interval between rounds),
#: and a batch size small enough that a flush takes many batches.
CALLS_PER_ROUND = 200
ROUNDS = 10
SMALL_BATCH = 7
#: Credentials as they turn up in plain text: headers, URLs, error messages.
PLAIN_CREDENTIALS = (
    "Authorization: Bearer {key}",
    "https://api.example.test/v1/chat?api_key={key}&stream=true",
    "401 Unauthorized: invalid token=sk-{key}",
)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _event(kind: EventType, marker: str, **metadata: Any) -> RoutingEvent:
    return RoutingEvent(
        event_type=kind,
        timestamp=NOW,
        model_id="chat.small",
        provider_id="local",
        pool_id=marker,
        metadata={"reason": "error_threshold", **metadata},
    )


def _log_entry(marker: str, secret: Secret | None = None) -> RequestLogEntry:
    headers: dict[str, Any] = {"Authorization": secret} if secret is not None else {}
    return RequestLogEntry(
        timestamp=NOW,
        request_id=marker,
        model_id="chat.small",
        provider_id="local",
        pool_id="chat",
        latency_ms=12.5,
        status_code=200,
        usage=TokenUsage(prompt_tokens=9, completion_tokens=3),
        cost=0.0001,
        request={"messages": [{"role": "user", "content": "hi"}], "headers": headers},
        response={"content": "hello"},
    )


class _CallCounter:
    """Counts the test's progress, so the hang guard can tell a call that never returns."""

    def __init__(self) -> None:
        self.progress = 0
        self.stuck_in = ""
        self.waiting_on = ""
        self.done = threading.Event()
        self.thread = threading.get_ident()
        self.watch = CallWatch()

    def run(self, call: Callable[[Any], None], arg: Any) -> None:
        self.stuck_in = getattr(call, "__name__", "emit")
        self.progress += 1
        with self.watch.watching():
            call(arg)
        self.progress += 1

    def finish(self) -> None:
        self.done.set()

    def failure(self) -> str:
        """What the hang guard found, for the assertion message."""
        found = f"waiting on {self.waiting_on}" if self.waiting_on else "still running"
        return f"a call to {self.stuck_in}() did not return while the delivery target was stuck ({found})"


def _hang_guard(calls: _CallCounter, hung: threading.Event, release: Callable[[], None] | None) -> None:
    """Unstick the target once a call is found waiting (or has run HANG_LOOKS looks); else it would hang."""
    seen = calls.progress
    looks = 0
    while not calls.done.wait(HANG_SECONDS):
        if calls.progress != seen:
            seen, looks = calls.progress, 0
            continue
        looks += 1
        waiting = calls.watch.waiting(calls.thread)
        if waiting is not None or looks >= HANG_LOOKS:
            calls.waiting_on = waiting or ""
            hung.set()
            if release is not None:
                release()
            return


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class ObservabilitySuite(MetricsTests, ConformanceSuite):
    """Every observability connector passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.OBSERVABILITY

    @asynccontextmanager
    async def sink(
        self, target: ConformanceTarget, clock: FakeClock | None = None, **config: Any
    ) -> AsyncIterator[Observability]:
        """A started connector; ``config`` (log_level, min_severity) merged over the spec's."""
        async with target.environment() as env:
            try:
                instance = target.build({**env, **config}, clock=clock or FakeClock())
            except ConfigError as exc:
                pytest.skip(f"{target} does not take {', '.join(config)}: {exc}")
            async with instance:
                yield instance

    @asynccontextmanager
    async def batched_sink(self, target: ConformanceTarget, clock: FakeClock) -> AsyncIterator[Observability]:
        """A sink with small batches when its config takes ``batch_size``, else its defaults."""
        async with target.environment() as env:
            try:
                instance = target.make({**env, "batch_size": SMALL_BATCH}, clock=clock)
            except ConfigError:
                instance = target.build(env, clock=clock)
            async with instance:
                yield instance

    async def delivered(self, target: ConformanceTarget, connector: Observability) -> Delivered:
        """What the connector delivered, or a skip when the spec cannot tell."""
        self.requires(target, ObservabilityFeature.RECORDS)
        collect = target.spec.collect_delivered
        if collect is None:
            pytest.skip(
                f"{target}'s ConformanceSpec gives no collect_delivered: calls returned without "
                "raising, delivery was not checked"
            )
        return await collect(connector)

    async def collected(self, target: ConformanceTarget, connector: Observability) -> str | None:
        """Everything delivered (records and metrics) as text, or None when the spec cannot tell."""
        spec, features = target.spec, target.cls.features
        texts = []
        if ObservabilityFeature.RECORDS in features and spec.collect_delivered is not None:
            texts.append((await spec.collect_delivered(connector)).text())
        if ObservabilityFeature.METRICS in features and spec.collect_metrics is not None:
            texts.append((await spec.collect_metrics(connector)).text())
        return "\n".join(texts) if texts else None

    @staticmethod
    def marker() -> str:
        """A value unique to one test, to find its records among everything delivered."""
        return "conformance-" + secrets.token_hex(6)

    # --- what it delivers -------------------------------------------------------------------

    def test_declares_what_it_delivers(self, conformance_target: ConformanceTarget) -> None:
        """A sink delivers records, metrics or both, or says it discards everything (and nothing else)."""
        declared = conformance_target.cls.features
        delivers = {ObservabilityFeature.RECORDS, ObservabilityFeature.METRICS} & declared
        if ObservabilityFeature.DISCARDS in declared:
            others = sorted(f.value for f in declared - {ObservabilityFeature.DISCARDS})
            assert not others, f"{conformance_target} declares 'discards' and also {others}: which is it?"
            spec = conformance_target.spec
            assert spec.collect_delivered is None and spec.collect_metrics is None, (
                f"{conformance_target} declares 'discards', yet its spec reads back what it delivered"
            )
            return
        if not delivers:
            pytest.skip(
                f"{conformance_target} declares neither 'records' nor 'metrics' (nor 'discards'): the suite "
                "cannot see anything it delivers (declare what reaches its target)"
            )

    # --- events --------------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    async def test_emit_accepts_every_event_type(self, conformance_target: ConformanceTarget) -> None:
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            for kind in EventType:
                sink.emit(_event(kind, marker))
            await sink.flush()
            delivered = await self.delivered(conformance_target, sink)
        kinds = [e["event_type"] for e in delivered.events if e.get("pool_id") == marker]
        assert kinds == [k.value for k in EventType], f"delivered event types, in order: {kinds}"

    @pytest.mark.anyio
    async def test_emit_log_trace_report_never_raise(self, conformance_target: ConformanceTarget) -> None:
        awkward = {
            "object": object(),
            "set": {1, 2},
            "bytes": b"\xff\xfe",
            "nan": float("nan"),
            "when": NOW,
            "nested": {"deep": [object(), Severity.ERROR]},
        }
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            for kind in EventType:
                sink.emit(_event(kind, marker, **awkward))
            sink.emit(RoutingEvent(event_type=EventType.MODEL_ROTATED, timestamp=NOW))
            sink.log(_log_entry(marker))
            sink.trace(TraceEntry(timestamp=NOW, severity=Severity.CRITICAL, message="x", metadata=awkward))
            sink.report({"pools": {"chat": {"requests": 3}}, "odd": object()})
            await sink.flush()
        # The router may still report while it shuts down.
        sink.emit(_event(EventType.MODEL_ACTIVATED, marker))
        sink.log(_log_entry(marker))

    @pytest.mark.anyio
    async def test_emit_never_blocks(self, conformance_target: ConformanceTarget, clock: FakeClock) -> None:
        """No single call waits on delivery: the target is stuck, the clock moves, every call returns."""
        spec = conformance_target.spec
        marker = self.marker()
        async with self.batched_sink(conformance_target, clock) as sink:
            release = spec.stall_delivery(sink) if spec.stall_delivery is not None else None
            gate = release if isinstance(release, StallGate) else None
            calls = _CallCounter()
            hung = threading.Event()
            guard = threading.Thread(
                target=_hang_guard, args=(calls, hung, release), name="emit-hang-guard", daemon=True
            )
            guard.start()
            blocking: list[str] = []
            try:
                for _ in range(ROUNDS):
                    with watch_blocking_calls() as found, gate.guard() if gate else _nothing():
                        for i in range(CALLS_PER_ROUND):
                            calls.run(sink.emit, _event(EventType.MODEL_ROTATED, marker, n=i))
                            if i % 10 == 0:
                                calls.run(sink.log, _log_entry(marker))
                                calls.run(
                                    sink.trace,
                                    TraceEntry(timestamp=NOW, severity=Severity.ERROR, message=marker),
                                )
                                calls.run(sink.report, {"pools": {"chat": {"requests": i}}})
                    blocking += found
                    calls.progress += 1
                    # A flush interval passes: a sink that delivers on a timer inside emit shows it now.
                    await clock.advance(30)
            finally:
                calls.finish()
                guard.join()
                if release is not None:
                    release()
            assert not hung.is_set(), (
                f"{calls.failure()}: buffer (bounded, counting drops) and deliver in the background"
            )
            assert gate is None or not gate.caught, (
                f"{len(gate.caught) if gate else 0} calls delivered synchronously: they waited on the stuck "
                "delivery target from the caller's thread; deliver in the background"
            )
            assert not blocking, (
                f"emit/log/trace/report did blocking work in the caller's thread: {blocking[:3]}; "
                "buffer and deliver in the background"
            )

    # --- logs and traces ------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    @pytest.mark.parametrize("level", list(LogLevel))
    async def test_log_level_trims_entries(
        self, conformance_target: ConformanceTarget, level: LogLevel
    ) -> None:
        marker = self.marker()
        async with self.sink(conformance_target, log_level=level.value) as sink:
            sink.log(_log_entry(marker))
            await sink.flush()
            delivered = await self.delivered(conformance_target, sink)
        mine = [entry for entry in delivered.logs if entry.get("request_id") == marker]
        assert len(mine) == 1, f"one log entry was logged, {len(mine)} delivered"
        entry = mine[0]
        if level is LogLevel.FULL:
            assert entry.get("request") and entry.get("response"), "FULL carries the payloads"
        else:
            assert not entry.get("request") and not entry.get("response"), f"{level.value} must drop payloads"
        if level is LogLevel.METADATA:
            assert not entry.get("usage") and entry.get("cost") is None, "METADATA drops usage and cost"
        else:
            assert entry.get("usage"), f"{level.value} keeps the token usage"

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    async def test_trace_severity_filter(self, conformance_target: ConformanceTarget) -> None:
        marker = self.marker()
        async with self.sink(conformance_target, min_severity=Severity.WARNING.value) as sink:
            for severity in Severity:
                sink.trace(TraceEntry(timestamp=NOW, severity=severity, message=marker))
            await sink.flush()
            delivered = await self.delivered(conformance_target, sink)
        kept = sorted(str(t["severity"]) for t in delivered.traces if t.get("message") == marker)
        assert kept == sorted(["warning", "error", "critical"]), (
            f"min_severity=warning must keep warning, error and critical, kept {kept}"
        )

    @pytest.mark.anyio
    @pytest.mark.parametrize("level", list(LogLevel))
    async def test_secrets_are_redacted(
        self, conformance_target: ConformanceTarget, level: LogLevel, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        plain = "sk-observed-" + secrets.token_hex(10)
        secret = Secret(plain)
        marker = self.marker()
        async with self.sink(conformance_target, log_level=level.value, min_severity="debug") as sink:
            sink.emit(_event(EventType.PROVIDER_DEACTIVATED, marker, api_key=secret))
            sink.log(_log_entry(marker, secret))
            sink.trace(
                TraceEntry(timestamp=NOW, severity=Severity.ERROR, message=marker, metadata={"key": secret})
            )
            await sink.flush()
            collected = await self.collected(conformance_target, sink)
        logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
        assert plain not in logged, f"a secret leaked into a log record at level {level.value}"
        if collected is not None:
            assert plain not in collected, f"a secret was delivered in clear at level {level.value}"

    @pytest.mark.anyio
    @pytest.mark.parametrize("level", list(LogLevel))
    async def test_plain_text_credentials_are_redacted(
        self, conformance_target: ConformanceTarget, level: LogLevel, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Keys in plain strings (a header, a URL, an error message) are masked too, at every level."""
        caplog.set_level(logging.DEBUG)
        key = secrets.token_hex(12)
        texts = [template.format(key=key) for template in PLAIN_CREDENTIALS]
        marker = self.marker()
        async with self.sink(conformance_target, log_level=level.value, min_severity="debug") as sink:
            sink.emit(_event(EventType.PROVIDER_DEACTIVATED, marker, detail=texts[0], url=texts[1]))
            entry = attrs.evolve(
                _log_entry(marker),
                status="failed",
                status_code=401,
                error=texts[2],
                request={"url": texts[1], "headers": {"Authorization": f"Bearer {key}"}, "note": texts[0]},
                response={"error": texts[2]},
            )
            sink.log(entry)
            sink.trace(TraceEntry(timestamp=NOW, severity=Severity.ERROR, message=f"{marker}: {texts[2]}"))
            sink.trace(
                TraceEntry(
                    timestamp=NOW, severity=Severity.WARNING, message=marker, metadata={"sent": texts[0]}
                )
            )
            await sink.flush()
            collected = await self.collected(conformance_target, sink)
        logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
        assert key not in logged, (
            f"a credential in plain text leaked into a log record at level {level.value}"
        )
        if collected is not None:
            assert key not in collected, (
                "a credential in plain text ('Authorization: Bearer …', 'api_key=…', 'token=…') was "
                f"delivered in clear at level {level.value}: redact strings, not only Secret objects"
            )

    # --- buffering ---------------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    async def test_flush_delivers_what_was_buffered(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        marker = self.marker()
        count = SMALL_BATCH * 40 + 3
        async with self.batched_sink(conformance_target, clock) as sink:
            for i in range(count):
                sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i))
            await sink.flush()
            delivered = await self.delivered(conformance_target, sink)
            mine = [e for e in delivered.events if e.get("pool_id") == marker]
            assert len(mine) == count, (
                f"{count} events emitted (many batches), {len(mine)} delivered after flush(): "
                "flush delivers everything buffered, not one batch"
            )
            assert [e["metadata"]["n"] for e in mine] == list(range(count)), (
                "events were delivered out of order"
            )

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    async def test_aclose_delivers_what_was_buffered(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        marker = self.marker()
        count = SMALL_BATCH * 40 + 3
        async with self.batched_sink(conformance_target, clock) as sink:
            for i in range(count):
                sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i))
                if i % 50 == 0:
                    sink.log(_log_entry(f"{marker}-{i}"))
        delivered = await self.delivered(conformance_target, sink)
        mine = [e for e in delivered.events if e.get("pool_id") == marker]
        assert len(mine) == count, (
            f"{count} events emitted (many batches), {len(mine)} delivered after aclose(): "
            "closing delivers everything buffered"
        )
        logs = [entry for entry in delivered.logs if str(entry.get("request_id", "")).startswith(marker)]
        assert len(logs) == len(range(0, count, 50)), f"log entries delivered after aclose(): {len(logs)}"

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS)
    @pytest.mark.anyio
    async def test_delivery_keeps_the_targets_rules(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """Many records of every kind, flushed and closed: the target, read back, breaks none of its rules."""
        marker = self.marker()
        async with self.batched_sink(conformance_target, clock) as sink:
            for i in range(SMALL_BATCH * 40 + 3):
                sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i, note="x" * (i % 97)))
                if i % 10 == 0:
                    sink.log(_log_entry(f"{marker}-{i}"))
                    sink.trace(TraceEntry(timestamp=NOW, severity=Severity.ERROR, message=marker))
                if i % 100 == 0:
                    await sink.flush()
        delivered = await self.delivered(conformance_target, sink)
        broken = "; ".join(delivered.problems[:5])
        assert not delivered.problems, f"{conformance_target}'s target, read back, breaks its rules: {broken}"
        mine = [e for e in delivered.events if e.get("pool_id") == marker]
        assert len(mine) == SMALL_BATCH * 40 + 3, f"{len(mine)} of {SMALL_BATCH * 40 + 3} events delivered"

    @pytest.mark.meshkit_feature(ObservabilityFeature.RECORDS, ObservabilityFeature.BUFFERED)
    @pytest.mark.anyio
    async def test_buffered_delivery_waits_out_a_stuck_target(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        """BUFFERED: while the target is stuck records wait (nothing lost); once it answers, all arrive."""
        spec = conformance_target.spec
        with self.feature(conformance_target, ObservabilityFeature.BUFFERED):
            if spec.stall_delivery is None:
                pytest.skip(f"{conformance_target}'s ConformanceSpec gives no stall_delivery")
            marker = self.marker()
            count = SMALL_BATCH * 20
            async with self.batched_sink(conformance_target, clock) as sink:
                release = spec.stall_delivery(sink)
                gate = release if isinstance(release, StallGate) else None
                calls = _CallCounter()
                hung = threading.Event()
                guard = threading.Thread(target=_hang_guard, args=(calls, hung, release), daemon=True)
                guard.start()
                try:
                    for i in range(count):
                        with gate.guard() if gate else _nothing():
                            calls.run(sink.emit, _event(EventType.MODEL_ROTATED, marker, n=i))
                        if i % SMALL_BATCH == 0:
                            await clock.advance(30)  # the worker wakes, finds the target stuck
                            calls.progress += 1
                finally:
                    calls.finish()
                    guard.join()
                    release()
                assert not hung.is_set(), calls.failure()
                await sink.flush()
                delivered = await self.delivered(conformance_target, sink)
            mine = [e["metadata"]["n"] for e in delivered.events if e.get("pool_id") == marker]
            assert sorted(mine) == list(range(count)), (
                f"{count} events emitted while the target was stuck, {len(set(mine))} delivered once it "
                f"answered ({count - len(set(mine))} lost, {len(mine) - len(set(mine))} twice)"
            )
