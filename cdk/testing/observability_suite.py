"""The observability contract: sinks take everything, never raise, never block, leak nothing.

What was delivered is checked only when the spec gives ``collect_delivered``; without
it the suite checks that every call returns and never raises.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from ..enums import ConnectorType, EventType, LogLevel, Severity
from ..errors import ConfigError
from ..events import RoutingEvent
from ..interfaces.observability import Observability
from ..types import RequestLogEntry, Secret, TokenUsage, TraceEntry
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .spec import Delivered
from .target import ConformanceTarget

__all__ = ["ObservabilitySuite"]

#: How long ``emit`` may take before the suite unsticks the delivery target and fails it.
WATCHDOG_SECONDS = 5.0
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


class ObservabilitySuite(ConformanceSuite):
    """Every observability connector passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.OBSERVABILITY

    @asynccontextmanager
    async def sink(self, target: ConformanceTarget, **config: Any) -> AsyncIterator[Observability]:
        """A started connector; ``config`` (log_level, min_severity) merged over the spec's."""
        async with target.environment() as env:
            try:
                instance = target.build({**env, **config}, clock=FakeClock())
            except ConfigError as exc:
                pytest.skip(f"{target} does not take {', '.join(config)}: {exc}")
            async with instance:
                yield instance

    async def delivered(self, target: ConformanceTarget, connector: Observability) -> Delivered:
        """What the connector delivered, or a skip when the spec cannot tell."""
        collect = target.spec.collect_delivered
        if collect is None:
            pytest.skip(
                f"{target}'s ConformanceSpec gives no collect_delivered: calls returned without "
                "raising, delivery was not checked"
            )
        return await collect(connector)

    @staticmethod
    def marker() -> str:
        """A value unique to one test, to find its records among everything delivered."""
        return "conformance-" + secrets.token_hex(6)

    # --- events --------------------------------------------------------------------------

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
    async def test_emit_never_blocks(self, conformance_target: ConformanceTarget) -> None:
        # With ``stall_delivery`` the target is stuck meanwhile; without it only the emits run.
        spec = conformance_target.spec
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            release = spec.stall_delivery(sink) if spec.stall_delivery is not None else None
            returned = threading.Event()
            rescued = threading.Event()

            def watchdog() -> None:
                if not returned.wait(WATCHDOG_SECONDS) and release is not None:
                    rescued.set()
                    release()

            guard = threading.Thread(target=watchdog, name="emit-watchdog", daemon=True)
            guard.start()
            try:
                for i in range(2000):
                    sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i))
            finally:
                returned.set()
                guard.join()
                if release is not None and not rescued.is_set():
                    release()
            assert not rescued.is_set(), (
                "emit() blocked while the delivery target was stuck: buffer (bounded, counting drops) "
                "and deliver in the background"
            )

    # --- logs and traces ------------------------------------------------------------------

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
            collected = (
                await conformance_target.spec.collect_delivered(sink)
                if (conformance_target.spec.collect_delivered)
                else None
            )
        logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
        assert plain not in logged, f"a secret leaked into a log record at level {level.value}"
        if collected is not None:
            assert plain not in collected.text(), f"a secret was delivered in clear at level {level.value}"

    # --- buffering ---------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_flush_delivers_what_was_buffered(self, conformance_target: ConformanceTarget) -> None:
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            for i in range(25):
                sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i))
            await sink.flush()
            delivered = await self.delivered(conformance_target, sink)
            mine = [e for e in delivered.events if e.get("pool_id") == marker]
            assert len(mine) == 25, f"25 events emitted, {len(mine)} delivered after flush()"

    @pytest.mark.anyio
    async def test_aclose_delivers_what_was_buffered(self, conformance_target: ConformanceTarget) -> None:
        marker = self.marker()
        async with self.sink(conformance_target) as sink:
            for i in range(25):
                sink.emit(_event(EventType.MODEL_ROTATED, marker, n=i))
        delivered = await self.delivered(conformance_target, sink)
        mine = [e for e in delivered.events if e.get("pool_id") == marker]
        assert len(mine) == 25, f"25 events emitted, {len(mine)} delivered after aclose()"
