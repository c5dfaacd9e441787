"""Every DeactivationReason and RecoveryTrigger has a working path, with exactly one event each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from runtime_helpers import USER, Recorder, mock, two_provider_config

from meshkit import AllModelsExhaustedError, EventType
from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

# Each mock reply is "Hello from <model>." (3 words) to "hello there" (2 prompt tokens).
PRICED = {"input_per_1k": 0.0, "output_per_1k": 1000.0}  # 3.0 per call
#: Tests that move the clock by hours or days check once a minute, to keep the run short.
MINUTELY = {"routing": {"check_interval": "1m"}, "discovery": {"health": {"interval": "1h"}}}


def build(
    clock: FakeClock,
    *,
    policy: dict[str, Any] | None = None,
    storage: MemoryStorage | None = None,
    **kwargs: Any,
) -> tuple[Mesh, Recorder]:
    recorder = Recorder()
    rotation = {"connector": "stick-until-failure", "config": {"failure_threshold": 1, **(policy or {})}}
    pool = {"rotation": rotation, "retry": {"max_attempts": 1}, **kwargs.pop("pool", {})}
    config = two_provider_config(pool=pool, **kwargs)
    return Mesh.from_config(config, clock=clock, observability=[recorder], storage=storage), recorder


def status(mesh: Mesh, model_id: str) -> dict[str, Any]:
    return dict(mesh.status()["models"][model_id])


def reasons(recorder: Recorder, model_id: str) -> list[tuple[str, str]]:
    """The model's transitions in order: ("off", reason) or ("on", trigger)."""
    out = []
    for event in recorder.events:
        if event.model_id != model_id:
            continue
        if event.event_type is EventType.MODEL_DEACTIVATED:
            out.append(("off", event.metadata["reason"]))
        elif event.event_type is EventType.MODEL_ACTIVATED:
            out.append(("on", event.metadata["trigger"]))
    return out


async def call(mesh: Mesh, target: str = "chat") -> Any:
    try:
        return await mesh.complete(model=target, messages=USER)
    except AllModelsExhaustedError as exc:
        return exc


@pytest.mark.anyio
async def test_consecutive_failures_deactivate_and_the_cooldown_recovers(clock: FakeClock) -> None:
    no_probes = {"discovery": {"health": {"interval": "1h"}}}
    mesh, recorder = build(clock, policy={"failure_threshold": 2, "cooldown": "60s"}, extra=no_probes)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"}, {"error": "unavailable"})
        await call(mesh)
        assert status(mesh, "a.small")["status"] == "active"
        await call(mesh)
        state = status(mesh, "a.small")
        assert (state["status"], state["reason"]) == ("standby", "error_threshold")
        assert state["cooldown_until"] == "2026-01-01T00:01:00+00:00"
        (event,) = recorder.of(EventType.MODEL_DEACTIVATED, "a.small")
        assert event.metadata["error_type"] == "ProviderUnavailableError"
        assert event.pool_id == "chat"
        assert (await call(mesh)).model == "b.large"
        await clock.advance(59)
        assert status(mesh, "a.small")["status"] == "standby"
        await clock.advance(2)  # the background check runs every second of mesh time
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "error_threshold"), ("on", "cooldown_expired")]


@pytest.mark.anyio
async def test_a_windowed_error_rate_deactivates(clock: FakeClock) -> None:
    policy = {"failure_threshold": 100, "error_rate_threshold": 0.5, "error_rate_min_requests": 4}
    mesh, recorder = build(clock, policy=policy)
    async with mesh:
        for step in ({}, {"error": "timeout"}, {}, {"error": "timeout"}):
            mock(mesh, "a").push(step)
            await call(mesh)  # through the pool, whose policy has the rate threshold
        assert status(mesh, "a.small")["reason"] == "error_threshold"
    assert reasons(recorder, "a.small") == [("off", "error_threshold")]


@pytest.mark.anyio
async def test_quota_exhausted_rests_for_the_retry_after(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "quota", "retry_after": 120})
        await call(mesh, "a.small")
        assert status(mesh, "a.small")["reason"] == "quota_exhausted"
        assert status(mesh, "a.small")["cooldown_until"] == "2026-01-01T00:02:00+00:00"
        await clock.advance(119)
        assert status(mesh, "a.small")["status"] == "standby"
        await clock.advance(2)
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "quota_exhausted"), ("on", "cooldown_expired")]


@pytest.mark.anyio
async def test_quota_exhausted_without_retry_after_waits_for_the_quota_reset() -> None:
    clock = FakeClock(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    mesh, recorder = build(clock, model_a={"quota_reset": "monthly"})
    async with mesh:
        mock(mesh, "a").push({"error": "quota"})
        await call(mesh, "a.small")
        assert status(mesh, "a.small")["resets_at"] == "2026-04-01T00:00:00+00:00"
        await clock.advance(timedelta(minutes=59))
        assert status(mesh, "a.small")["status"] == "standby"
        await clock.advance(timedelta(minutes=1, seconds=1))
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "quota_exhausted"), ("on", "quota_reset")]


@pytest.mark.anyio
async def test_a_model_daily_budget_deactivates_until_the_next_utc_day() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 22, 0, tzinfo=UTC))
    mesh, recorder = build(clock, model_a={"pricing": PRICED, "budget": {"daily": 5.0}}, extra=MINUTELY)
    async with mesh:
        first = await call(mesh)
        assert first.cost == pytest.approx(3.0)
        await call(mesh)
        state = status(mesh, "a.small")
        assert (state["status"], state["reason"]) == ("standby", "budget_exceeded")
        assert state["spent_today"] == pytest.approx(6.0)
        assert state["resets_at"] == "2026-01-02T00:00:00+00:00"
        assert (await call(mesh)).model == "b.large"
        await clock.advance(timedelta(hours=2, minutes=1))
        assert status(mesh, "a.small")["status"] == "active"
        assert status(mesh, "a.small")["spent_today"] == 0.0
    (off,) = recorder.of(EventType.MODEL_DEACTIVATED, "a.small")
    assert "daily budget" in off.metadata["detail"]
    assert reasons(recorder, "a.small") == [("off", "budget_exceeded"), ("on", "quota_reset")]


@pytest.mark.anyio
async def test_a_spent_monthly_budget_outlasts_the_daily_reset() -> None:
    clock = FakeClock(datetime(2026, 1, 30, 12, 0, tzinfo=UTC))
    budget = {"daily": 100.0, "monthly": 5.0}
    mesh, recorder = build(clock, model_a={"pricing": PRICED, "budget": budget}, extra=MINUTELY)
    async with mesh:
        await call(mesh)
        await call(mesh)
        assert status(mesh, "a.small")["resets_at"] == "2026-02-01T00:00:00+00:00"
        await clock.advance(timedelta(days=1))
        assert status(mesh, "a.small")["status"] == "standby"
        await clock.advance(timedelta(hours=12, minutes=1))
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "budget_exceeded"), ("on", "quota_reset")]


@pytest.mark.anyio
async def test_a_provider_budget_sets_aside_all_its_models(clock: FakeClock) -> None:
    recorder = Recorder()
    config = two_provider_config(model_a={"pricing": PRICED})
    config["providers"]["a"]["config"]["models"] = ["small", "tiny"]
    config["models"]["a.tiny"] = {"provider": "a", "pricing": PRICED}
    config["providers"]["a"]["budget"] = {"daily": 5.0}
    mesh = Mesh.from_config(config, clock=clock, observability=[recorder])
    async with mesh:
        await call(mesh, "a.small")
        await call(mesh, "a.tiny")
        for model_id in ("a.small", "a.tiny"):
            state = status(mesh, model_id)
            assert (state["status"], state["reason"]) == ("standby", "budget_exceeded")
            assert "provider a daily budget" in state["detail"]
        assert status(mesh, "b.large")["status"] == "active"
    assert len(recorder.of(EventType.MODEL_DEACTIVATED)) == 2


@pytest.mark.anyio
async def test_a_pool_budget_sets_aside_the_pool_members(clock: FakeClock) -> None:
    mesh, recorder = build(
        clock, model_a={"pricing": PRICED}, model_b={"pricing": PRICED}, pool={"budget": {"daily": 5.0}}
    )
    async with mesh:
        await call(mesh)
        await call(mesh)
        assert {m["reason"] for m in mesh.status()["pools"]["chat"]["models"].values()} == {"budget_exceeded"}
        assert mesh.status()["pools"]["chat"]["budget"]["spent_today"] == pytest.approx(6.0)
        assert mesh.status()["pools"]["chat"]["active"] == 0
    assert len(recorder.of(EventType.MODEL_DEACTIVATED)) == 2


@pytest.mark.anyio
async def test_a_token_limit_deactivates(clock: FakeClock) -> None:
    mesh, recorder = build(clock, model_a={"limits": {"tokens": 8}})
    async with mesh:
        await call(mesh)
        assert status(mesh, "a.small")["status"] == "active"
        await call(mesh)
        assert status(mesh, "a.small")["reason"] == "token_limit"
    assert reasons(recorder, "a.small") == [("off", "token_limit")]


@pytest.mark.anyio
async def test_a_monthly_request_limit_resets_when_the_month_turns() -> None:
    clock = FakeClock(datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    mesh, recorder = build(clock, model_a={"limits": {"requests": 2, "window": "monthly"}})
    async with mesh:
        await call(mesh)
        await call(mesh)
        assert status(mesh, "a.small")["reason"] == "request_limit"
        assert status(mesh, "a.small")["resets_at"] == "2026-03-01T00:00:00+00:00"
        await clock.advance(61)
        assert status(mesh, "a.small")["status"] == "active"
        assert (await call(mesh)).model == "a.small"
    assert reasons(recorder, "a.small") == [("off", "request_limit"), ("on", "quota_reset")]


@pytest.mark.anyio
async def test_a_maintenance_window_takes_the_model_out_for_its_duration() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 2, 59, 30, tzinfo=UTC))
    mesh, recorder = build(clock, model_a={"maintenance": [{"cron": "0 3 * * *", "duration": "30m"}]})
    async with mesh:
        assert (await call(mesh)).model == "a.small"
        await clock.advance(31)
        state = status(mesh, "a.small")
        assert (state["status"], state["reason"]) == ("standby", "maintenance_window")
        assert state["cooldown_until"] == "2026-01-01T03:30:00+00:00"
        assert (await call(mesh)).model == "b.large"
        await clock.advance(timedelta(minutes=30))
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "maintenance_window"), ("on", "cooldown_expired")]


@pytest.mark.anyio
async def test_a_request_in_a_maintenance_window_never_reaches_the_model() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 3, 10, tzinfo=UTC))
    mesh, _ = build(clock, model_a={"maintenance": [{"cron": "0 3 * * *", "duration": "30m"}]})
    async with mesh:
        assert (await call(mesh)).model == "b.large"  # checked at selection, before any job ran
        assert mock(mesh, "a").calls == []


@pytest.mark.anyio
async def test_manual_deactivation_lasts_until_manual_activation(clock: FakeClock) -> None:
    mesh, recorder = build(clock, extra=MINUTELY)
    async with mesh:
        assert await mesh.deactivate("a.small") is True
        assert await mesh.deactivate("a.small") is False  # no second transition, no second event
        await clock.advance(timedelta(days=2))
        assert status(mesh, "a.small")["reason"] == "manual"
        assert await mesh.activate("a.small") is True
        assert await mesh.activate("a.small") is False
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "manual"), ("on", "manual")]


@pytest.mark.anyio
async def test_a_successful_probe_recovers_a_model_set_aside_for_errors(clock: FakeClock) -> None:
    mesh, recorder = build(clock, policy={"cooldown": "1h"})
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        await call(mesh)
        assert status(mesh, "a.small")["reason"] == "error_threshold"
        await clock.advance(61)  # the health job (every 60s) probes providers waiting to recover
        assert status(mesh, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("off", "error_threshold"), ("on", "probe_success")]


@pytest.mark.anyio
async def test_authentication_failure_sets_the_provider_aside_until_a_probe_passes(clock: FakeClock) -> None:
    mesh, recorder = build(clock, policy={"failure_threshold": 5})
    async with mesh:
        mock(mesh, "a").push({"error": "auth"})
        await call(mesh)
        assert mesh.status()["providers"]["a"]["status"] == "deactivated"
        state = status(mesh, "a.small")
        assert (state["status"], state["reason"]) == ("standby", "provider_deactivated")
        assert (await call(mesh)).model == "b.large"
        mock(mesh, "a").healthy = False
        await clock.advance(61)
        assert mesh.status()["providers"]["a"]["status"] == "deactivated"
        mock(mesh, "a").healthy = True
        await clock.advance(60)
        assert mesh.status()["providers"]["a"]["status"] == "active"
        assert (await call(mesh, "a.small")).model == "a.small"
    (off,) = recorder.of(EventType.PROVIDER_DEACTIVATED)
    assert (off.provider_id, off.metadata["reason"], off.metadata["models"]) == (
        "a",
        "authentication",
        ["a.small"],
    )
    (on,) = recorder.of(EventType.PROVIDER_RECOVERED)
    assert on.metadata["trigger"] == "probe_success"
    health = [e.metadata["available"] for e in recorder.of(EventType.PROVIDER_HEALTH_CHANGED)]
    assert health == [False, True]
    assert reasons(recorder, "a.small") == []  # provider-wide, not per model


@pytest.mark.anyio
async def test_a_model_refused_to_the_key_rests_alone_until_its_cooldown_ends(clock: FakeClock) -> None:
    mesh, recorder = build(
        clock, policy={"failure_threshold": 5, "cooldown": "30s"}, pool={"retry": {"max_attempts": 2}}
    )
    async with mesh:
        mock(mesh, "a").push({"error": "model_access"})
        assert (await call(mesh)).model == "b.large"
        state = status(mesh, "a.small")
        assert (state["status"], state["reason"]) == ("standby", "error_threshold")
        assert state["detail"] == "the provider refused this model to the key"
        assert mesh.status()["providers"]["a"]["status"] == "active"
        await clock.advance(31)
        assert status(mesh, "a.small")["status"] == "active"  # tried again once the cooldown is over
    assert reasons(recorder, "a.small") == [("off", "error_threshold"), ("on", "cooldown_expired")]
    assert recorder.of(EventType.PROVIDER_DEACTIVATED) == []


@pytest.mark.anyio
async def test_the_startup_probe_recovers_models_persisted_in_standby(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    first, _ = build(clock, storage=storage, policy={"cooldown": "1h"})
    async with first:
        mock(first, "a").push({"error": "unavailable"})
        await call(first)
        assert status(first, "a.small")["status"] == "standby"
    again, _ = build(clock, storage=storage)
    async with again:
        assert status(again, "a.small")["status"] == "standby"  # without a startup probe it waits
    recorder = Recorder()
    config = two_provider_config(extra={"startup_probe": True})
    third = Mesh.from_config(config, clock=clock, storage=storage, observability=[recorder])
    async with third:
        assert status(third, "a.small")["status"] == "active"
    assert reasons(recorder, "a.small") == [("on", "startup_probe")]


@pytest.mark.anyio
async def test_a_failed_probe_reports_a_health_change_once(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").healthy = False
        first = await mesh.probe("a")
        second = await mesh.probe("a")
        assert not first.ok and not second.ok
        mock(mesh, "a").healthy = True
        assert (await mesh.probe("a")).ok
    changes = recorder.of(EventType.PROVIDER_HEALTH_CHANGED)
    assert [(e.provider_id, e.metadata["available"]) for e in changes] == [("a", False), ("a", True)]
