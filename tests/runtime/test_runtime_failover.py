"""The failover loop: same-model retries, backoff, rotation, deadlines, streams, cancellation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from runtime_helpers import USER, Recorder, drive, mock, settle, two_provider_config

from meshkit import (
    AllModelsExhaustedError,
    BadRequestError,
    EventType,
    NoModelAvailableError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock


def build(
    clock: FakeClock, *, retry: dict[str, Any] | None = None, threshold: int = 1, **kwargs: Any
) -> tuple[Mesh, Recorder]:
    recorder = Recorder()
    rotation = {"connector": "stick-until-failure", "config": {"failure_threshold": threshold}}
    config = two_provider_config(pool={"retry": retry or {}, "rotation": rotation}, **kwargs)
    return Mesh.from_config(config, clock=clock, observability=[recorder]), recorder


def counters(mesh: Mesh, model_id: str) -> dict[str, Any]:
    return dict(mesh.status()["models"][model_id]["counters"])


@pytest.mark.anyio
async def test_a_rate_limited_model_is_retried_after_its_retry_after(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"same_model_retries": 1, "initial_delay": "100ms"}, threshold=3)
    async with mesh:
        mock(mesh, "a").push({"error": "rate_limit", "retry_after": 2})
        reply, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert reply.model == "a.small"
    assert len(mock(mesh, "a").calls) == 2
    assert mock(mesh, "b").calls == []
    assert took == pytest.approx(2.0, abs=0.02)  # Retry-After wins over the 100ms backoff


@pytest.mark.anyio
async def test_exponential_backoff_doubles_up_to_the_maximum(clock: FakeClock) -> None:
    retry = {"same_model_retries": 3, "initial_delay": "1s", "max_delay": "3s", "max_attempts": 5}
    mesh, _ = build(clock, retry=retry, threshold=10)
    async with mesh:
        mock(mesh, "a").push(*[{"error": "unavailable"}] * 3)
        reply, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert reply.model == "a.small"
    assert took == pytest.approx(1 + 2 + 3, abs=0.05)  # 1s, 2s, then capped at 3s


@pytest.mark.anyio
async def test_constant_backoff_waits_the_same_each_time(clock: FakeClock) -> None:
    retry = {"same_model_retries": 2, "initial_delay": "500ms", "backoff": "constant"}
    mesh, _ = build(clock, retry=retry, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"error": "timeout"}, {"error": "timeout"})
        reply, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert reply.model == "a.small"
    assert took == pytest.approx(1.0, abs=0.05)


@pytest.mark.anyio
async def test_a_failing_model_rotates_to_the_next_with_one_rotation_event(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        reply = await mesh.complete(model="chat", messages=USER)
    assert reply.model == "b.large"
    assert reply.text == "Hello from large."
    (rotated,) = recorder.of(EventType.MODEL_ROTATED)
    assert rotated.metadata["from"] == "a.small"
    assert rotated.metadata["to"] == "b.large"
    assert rotated.metadata["error_type"] == "ProviderUnavailableError"
    assert rotated.pool_id == "chat"
    assert [log.status for log in recorder.logs] == ["error", "ok"]
    assert [log.attempt for log in recorder.logs] == [1, 2]


@pytest.mark.anyio
async def test_a_bad_request_returns_at_once_without_blaming_the_model(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "bad_request"})
        with pytest.raises(BadRequestError):
            await mesh.complete(model="chat", messages=USER)
        assert mock(mesh, "b").calls == []
        assert counters(mesh, "a.small")["failures"] == 1
        assert counters(mesh, "a.small")["consecutive_failures"] == 0
        assert mesh.status()["models"]["a.small"]["status"] == "active"
    assert recorder.of(EventType.MODEL_ROTATED) == []


@pytest.mark.anyio
async def test_a_context_window_error_moves_on_without_counting_against_health(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "context_window"})
        reply = await mesh.complete(model="chat", messages=USER)
        assert reply.model == "b.large"
        assert mesh.status()["models"]["a.small"]["status"] == "active"


@pytest.mark.anyio
async def test_when_every_model_fails_the_error_lists_each_attempt(clock: FakeClock) -> None:
    config = two_provider_config()
    config["providers"]["a"]["config"]["latency"] = "250ms"
    mesh = Mesh.from_config(config, clock=clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        mock(mesh, "b").push({"error": "rate_limit"})
        error, _ = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert isinstance(error, AllModelsExhaustedError)
    assert [(a.model_id, type(a.error)) for a in error.attempts] == [
        ("a.small", ProviderUnavailableError),
        ("b.large", type(error.attempts[1].error)),
    ]
    assert error.attempts[1].error.category == "rate_limit"
    assert error.attempts[0].latency_ms == pytest.approx(250.0)
    assert error.attempts[1].latency_ms == pytest.approx(0.0)
    assert "a.small (a): ProviderUnavailableError" in str(error)


@pytest.mark.anyio
async def test_max_attempts_bounds_the_calls(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"max_attempts": 1})
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=USER)
    assert len(info.value.attempts) == 1
    assert mock(mesh, "b").calls == []


@pytest.mark.anyio
async def test_the_deadline_cuts_a_hanging_call_on_the_mesh_clock(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"deadline": "3s"})
    async with mesh:
        mock(mesh, "a").push({"latency": timedelta(hours=1)})
        error, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER), step=0.05)
        assert isinstance(error, AllModelsExhaustedError)
        (attempt,) = error.attempts
        assert isinstance(attempt.error, ProviderTimeoutError)
        assert took == pytest.approx(3.0, abs=0.06)
        assert counters(mesh, "a.small")["in_flight"] == 0
        # A per-request deadline overrides the pool's.
        mock(mesh, "b").push({"latency": timedelta(hours=1)})
        error, took = await drive(
            clock, lambda: mesh.complete(model="chat", messages=USER, deadline=1.0), step=0.05
        )
        assert isinstance(error, AllModelsExhaustedError)
        assert took == pytest.approx(1.0, abs=0.06)


@pytest.mark.anyio
async def test_a_retry_after_beyond_the_deadline_rotates_instead_of_waiting(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"same_model_retries": 2, "deadline": "5s"}, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"error": "rate_limit", "retry_after": 30})
        reply, took = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert reply.model == "b.large"
    assert took < 0.05


@pytest.mark.anyio
async def test_nothing_to_route_to_is_a_routing_error_that_says_why(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        await mesh.deactivate("a.small")
        await mesh.deactivate("b.large")
        with pytest.raises(NoModelAvailableError, match=r"a\.small \(manual\)"):
            await mesh.complete(model="chat", messages=USER)


@pytest.mark.anyio
async def test_a_stream_fails_over_before_its_first_chunk(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        chunks = [c async for c in mesh.stream(model="chat", messages=USER)]
        assert "".join(c.text for c in chunks) == "Hello from large."
        assert {c.model for c in chunks} == {"b.large"}
        assert counters(mesh, "b.large")["successes"] == 1
        assert counters(mesh, "b.large")["tokens"] > 0
    assert len(recorder.of(EventType.MODEL_ROTATED)) == 1


@pytest.mark.anyio
async def test_a_stream_cut_after_its_first_chunk_does_not_fail_over(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        mock(mesh, "a").push({"cut_after": 1})
        received = []
        with pytest.raises(ProviderProtocolError):
            async for chunk in mesh.stream(model="chat", messages=USER):
                received.append(chunk.text)
        assert received == ["Hello "]
        assert mock(mesh, "b").calls == []
        assert counters(mesh, "a.small")["failures"] == 1
        assert counters(mesh, "a.small")["in_flight"] == 0


@pytest.mark.anyio
async def test_a_reader_that_stops_early_leaves_counters_consistent(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        stream = mesh.stream(model="chat", messages=USER)
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        assert counters(mesh, "a.small")["successes"] == 1
        assert counters(mesh, "a.small")["in_flight"] == 0


@pytest.mark.anyio
async def test_a_cancelled_request_leaves_counters_consistent(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"latency": timedelta(seconds=5)})
        baseline = clock.sleepers
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: mesh.complete(model="chat", messages=USER))
            await settle(clock, baseline + 1)
            await clock.advance(2)  # halfway through the scripted latency
            assert counters(mesh, "a.small")["in_flight"] == 1
            tg.cancel_scope.cancel()
        after = counters(mesh, "a.small")
        assert (after["requests"], after["cancelled"], after["in_flight"]) == (1, 1, 0)
        assert (after["successes"], after["failures"], after["consecutive_failures"]) == (0, 0, 0)
        reply = await mesh.complete(model="chat", messages=USER)
        assert reply.model == "a.small"
        assert counters(mesh, "a.small")["requests"] == 2
    assert recorder.of(EventType.MODEL_DEACTIVATED) == []


@pytest.mark.anyio
async def test_select_is_a_dry_run(clock: FakeClock) -> None:
    config = two_provider_config(pool={"rotation": {"connector": "round-robin"}})
    mesh = Mesh.from_config(config, clock=clock)
    async with mesh:
        first = mesh.select("chat")
        again = mesh.select("chat")
        assert first.model_id == again.model_id  # the round-robin cursor did not move
        assert first.candidates == ("a.small", "b.large")
        assert mock(mesh, "a").calls == [] and mock(mesh, "b").calls == []
        reply = await mesh.complete(model="chat", messages=USER)
        assert reply.model == first.model_id
        assert mesh.select("a.small").pool_id == "a.small"


@pytest.mark.anyio
async def test_the_last_attempt_of_an_exhausted_request_is_logged_as_exhausted(clock: FakeClock) -> None:
    mesh, recorder = build(clock, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        mock(mesh, "b").push({"error": "timeout"})
        with pytest.raises(AllModelsExhaustedError):
            await mesh.complete(model="chat", messages=USER)
    assert [(log.model_id, log.status) for log in recorder.logs] == [
        ("a.small", "error"),
        ("b.large", "exhausted"),
    ]
    assert recorder.logs[1].error_category == "timeout"


@pytest.mark.anyio
async def test_running_out_of_attempts_on_one_model_logs_exhausted(clock: FakeClock) -> None:
    retry = {"same_model_retries": 1, "max_attempts": 2, "initial_delay": "100ms"}
    mesh, recorder = build(clock, retry=retry, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"}, {"error": "unavailable"})
        error, _ = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert isinstance(error, AllModelsExhaustedError)
    assert [(log.model_id, log.attempt, log.status) for log in recorder.logs] == [
        ("a.small", 1, "error"),
        ("a.small", 2, "exhausted"),
    ]


@pytest.mark.anyio
async def test_a_stream_cut_after_its_first_chunk_is_logged_as_failed(clock: FakeClock) -> None:
    mesh, recorder = build(clock, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"error": None, "reply": "one two three four", "cut_after": 2})
        with pytest.raises(ProviderProtocolError):
            async for _ in mesh.stream(model="chat", messages=USER):
                pass
    assert [(log.model_id, log.status) for log in recorder.logs] == [("a.small", "failed")]


@pytest.mark.anyio
async def test_a_cancelled_call_is_logged_as_cancelled(clock: FakeClock) -> None:
    mesh, recorder = build(clock, threshold=5)
    async with mesh:
        mock(mesh, "a").push({"latency": "10s"})
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: mesh.complete(model="chat", messages=USER))
            # The deadline's watcher and the provider's own wait, both on the clock: a.small is
            # answering when the caller gives up.
            await settle(clock, 2 + len(mesh.scheduler.jobs))
            group.cancel_scope.cancel()
    assert [(log.model_id, log.status) for log in recorder.logs] == [("a.small", "cancelled")]


@pytest.mark.anyio
async def test_the_opentelemetry_span_of_an_exhausted_request_ends_at_once(clock: FakeClock) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from meshkit.connectors.observability.opentelemetry import OpenTelemetryObservability

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel = OpenTelemetryObservability(tracer_provider=tracer_provider, clock=clock)
    mesh = Mesh.from_config(
        two_provider_config(pool={"rotation": {"connector": "priority"}}), clock=clock, observability=[otel]
    )
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        mock(mesh, "b").push({"error": "unavailable"})
        with pytest.raises(AllModelsExhaustedError):
            await mesh.complete(model="chat", messages=USER)
        # Closed by the exhausted attempt, not by a timeout (routing events are spans of their own).
        (span,) = [s for s in exporter.get_finished_spans() if s.name == "meshkit.request"]
        assert otel.pending == 0
    attributes = dict(span.attributes or {})
    assert attributes["meshkit.status"] == "exhausted"
    assert "meshkit.incomplete" not in attributes
