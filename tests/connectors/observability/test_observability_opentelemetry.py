"""meshkit.opentelemetry.v1: request logs become spans, exported through the SDK in memory."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
from observability_helpers import NOW, PLAIN_SECRET, event, log_entry, trace_entry
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from meshkit.connectors.observability.opentelemetry import OpenTelemetryObservability
from meshkit.enums import EventType, Severity
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture
def clock() -> FakeClock:
    """The clock reads the time the log entries are stamped with."""
    return FakeClock(start=NOW)


def ns(seconds_after_now: float) -> int:
    return int((NOW + timedelta(seconds=seconds_after_now)).timestamp() * 1_000_000_000)


def at(seconds: float) -> object:
    return NOW + timedelta(seconds=seconds)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def test_a_successful_request_is_one_span_with_one_attempt_event(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    sink.log(log_entry("req-1", latency_ms=400.0, timestamp=at(10)))
    span = only_span(exporter)
    assert span.name == "meshkit.request" and span.kind is SpanKind.CLIENT
    assert span.start_time == ns(9.6) and span.end_time == ns(10)
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        "meshkit.request_id": "req-1",
        "meshkit.pool": "chat",
        "meshkit.model": "local.small",
        "meshkit.provider": "local",
        "meshkit.attempts": 1,
        "meshkit.status": "ok",
        "meshkit.cost": 0.002,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 30,
    }
    (attempt,) = span.events
    assert attempt.name == "meshkit.attempt" and attempt.timestamp == ns(10)
    assert dict(attempt.attributes or {})["meshkit.latency_ms"] == 400.0
    assert sink.spans == 1 and sink.pending == 0


def test_failed_attempts_and_a_rotation_end_in_one_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    sink.log(log_entry("req-9", attempt=1, status="error", error_category="unavailable", timestamp=at(1)))
    sink.log(log_entry("req-9", attempt=2, status="error", error_category="rate_limit", timestamp=at(2)))
    assert exporter.get_finished_spans() == () and sink.pending == 1
    sink.log(log_entry("req-9", attempt=3, model_id="backup.large", latency_ms=500.0, timestamp=at(4)))
    span = only_span(exporter)
    assert [e.name for e in span.events] == [
        "meshkit.attempt",
        "meshkit.attempt",
        "meshkit.rotation",
        "meshkit.attempt",
    ]
    rotation = dict(span.events[2].attributes or {})
    assert rotation == {
        "meshkit.from_model": "local.small",
        "meshkit.to_model": "backup.large",
        "meshkit.error_category": "rate_limit",
    }
    assert span.events[2].timestamp == ns(3.5)  # when the attempt on the new model started
    assert span.start_time == ns(0.75) and span.end_time == ns(4)
    attrs = dict(span.attributes or {})
    assert attrs["meshkit.attempts"] == 3 and attrs["meshkit.model"] == "backup.large"
    assert attrs["meshkit.cost"] == pytest.approx(0.006)


def test_a_bad_request_ends_the_span_at_once_as_an_error(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    sink.log(log_entry("req-2", status="error", error_category="bad_request"))
    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "upstream answered 503"
    assert dict(span.attributes or {})["error.type"] == "bad_request"


def test_an_explicit_final_status_ends_the_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    sink.log(log_entry("req-3", status="exhausted", error_category="unavailable"))
    assert only_span(exporter).status.status_code is StatusCode.ERROR


def test_a_request_with_no_further_attempt_ends_after_the_pending_timeout(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability({"pending_timeout": "30s"}, tracer_provider=provider, clock=clock)
    sink.log(log_entry("req-4", status="error", error_category="unavailable", timestamp=at(0)))
    clock.set(NOW + timedelta(seconds=29))
    sink.log(log_entry("req-5", timestamp=at(29)))  # a later request finishes first
    assert [s.attributes["meshkit.request_id"] for s in exporter.get_finished_spans()] == ["req-5"]  # type: ignore[index]
    clock.set(NOW + timedelta(seconds=31))
    sink.log(log_entry("req-6", timestamp=at(31)))
    ended = {s.attributes["meshkit.request_id"]: s for s in exporter.get_finished_spans()}  # type: ignore[index]
    stale = ended["req-4"]
    assert stale.end_time == ns(0)  # it ends where its last attempt ended, not when noticed
    assert stale.status.status_code is StatusCode.ERROR
    assert dict(stale.attributes or {})["meshkit.incomplete"] is True


@pytest.mark.anyio
async def test_flush_ends_stale_requests_and_aclose_ends_every_open_one(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability({"pending_timeout": "10s"}, tracer_provider=provider, clock=clock)
    async with sink:
        sink.log(log_entry("old", status="error", error_category="timeout", timestamp=at(0)))
        clock.set(NOW + timedelta(seconds=20))
        sink.log(log_entry("recent", status="error", error_category="timeout", timestamp=at(19)))
        await sink.flush()
        assert [s.attributes["meshkit.request_id"] for s in exporter.get_finished_spans()] == ["old"]  # type: ignore[index]
    assert sorted(s.attributes["meshkit.request_id"] for s in exporter.get_finished_spans()) == [
        "old",
        "recent",
    ]  # type: ignore[index]
    assert sink.pending == 0


def test_beyond_max_pending_the_oldest_request_is_ended(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability({"max_pending": 2}, tracer_provider=provider, clock=clock)
    for request in ("a", "b", "c"):
        sink.log(log_entry(request, status="error", error_category="unavailable"))
    assert [s.attributes["meshkit.request_id"] for s in exporter.get_finished_spans()] == ["a"]  # type: ignore[index]
    assert sink.pending == 2


def test_the_span_is_a_child_of_the_span_current_at_the_first_attempt(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability(tracer_provider=provider, clock=clock)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle-chat") as parent:
        sink.log(log_entry("req-7", status="error", error_category="unavailable"))
    sink.log(log_entry("req-7", attempt=2))
    child = next(s for s in exporter.get_finished_spans() if s.name == "meshkit.request")
    assert child.parent is not None and child.parent.span_id == parent.get_span_context().span_id


def test_errors_in_spans_hold_no_secret(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability({"log_level": "full"}, tracer_provider=provider, clock=clock)
    entry = log_entry("req-8", status="failed", error_category="authentication")
    sink.log(attrs.evolve(entry, error=f"401 for Authorization: Bearer {PLAIN_SECRET}"))
    span = only_span(exporter)
    text = repr((span.attributes, span.status.description, [e.attributes for e in span.events]))
    assert PLAIN_SECRET not in text
    assert span.status.description == "401 for Authorization: Bearer **********"


def test_the_global_tracer_provider_is_the_default() -> None:
    from opentelemetry import trace

    assert OpenTelemetryObservability().tracer_provider is trace.get_tracer_provider()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"pending_timeout": "0s"}, r"config\.pending_timeout: expected a positive duration"),
        ({"max_pending": 0}, r"config\.max_pending: expected a positive whole number"),
        ({"span_name": ""}, r"config\.span_name: expected a span name"),
    ],
)
def test_bad_settings_are_reported_by_path(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OpenTelemetryObservability(config)


def test_without_opentelemetry_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"pip install 'meshkit\[otel\]'"):
        OpenTelemetryObservability()


def test_events_and_traces_are_short_spans_of_their_own(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    sink = OpenTelemetryObservability({"min_severity": "warning"}, tracer_provider=provider, clock=clock)
    sink.emit(event(EventType.MODEL_DEACTIVATED, reason="error_threshold", detail={"failures": 3}))
    sink.trace(trace_entry(Severity.INFO, "not kept"))
    sink.trace(trace_entry(Severity.ERROR, f"upstream said Bearer {PLAIN_SECRET}"))
    event_span, trace_span = exporter.get_finished_spans()
    assert event_span.name == "meshkit.event" and event_span.start_time == event_span.end_time == ns(0)
    assert dict(event_span.attributes or {}) == {
        "meshkit.event_type": "model_deactivated",
        "meshkit.pool": "chat",
        "meshkit.model": "local.small",
        "meshkit.provider": "local",
        "meshkit.metadata.n": 0,
        "meshkit.metadata.reason": "error_threshold",
        "meshkit.metadata.detail": '{"failures":3}',
    }
    attributes = dict(trace_span.attributes or {})
    assert trace_span.name == "meshkit.trace" and attributes["meshkit.severity"] == "error"
    assert attributes["meshkit.message"] == "upstream said Bearer **********"
    assert attributes["meshkit.metadata.token"] == "**********"
    assert PLAIN_SECRET not in repr([event_span.attributes, trace_span.attributes])


def test_at_the_full_level_the_span_carries_the_request_and_response(
    provider: TracerProvider, exporter: InMemorySpanExporter, clock: FakeClock
) -> None:
    full = OpenTelemetryObservability({"log_level": "full"}, tracer_provider=provider, clock=clock)
    full.log(log_entry("req-full"))
    OpenTelemetryObservability(tracer_provider=provider, clock=clock).log(log_entry("req-summary"))
    with_payloads, without = (dict(s.attributes or {}) for s in exporter.get_finished_spans())
    assert json.loads(str(with_payloads["meshkit.request"]))["messages"]
    assert json.loads(str(with_payloads["meshkit.response"]))["content"] == "hello"
    assert PLAIN_SECRET not in str(with_payloads["meshkit.request"]) + str(with_payloads["meshkit.response"])
    assert "meshkit.request" not in without and "meshkit.response" not in without
