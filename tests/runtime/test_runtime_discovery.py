"""Discovery scheduling on the mesh clock: sync actions, deprecation actions, health and probes."""

from __future__ import annotations

from typing import Any

import pytest
from runtime_helpers import USER, Recorder, mock, two_provider_config

from meshkit import EventType
from meshkit.errors import UnknownTargetError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock


def build(
    clock: FakeClock,
    *,
    new: str = "notify",
    deprecated: str = "notify",
    listed: dict[str, list[str]] | None = None,
) -> tuple[Mesh, Recorder]:
    rotation = {"connector": "stick-until-failure", "config": {"failure_threshold": 1, "cooldown": "1h"}}
    config = two_provider_config(pool={"rotation": rotation})
    config["providers"]["a"]["config"]["models"] = ["small", "extra"]
    config["discovery"] = {
        "connector": "static",
        "config": {"models": listed if listed is not None else {"a": ["small", "extra"], "b": ["large"]}},
        "sync": {"interval": "1h", "on_new_model": new, "on_deprecated_model": deprecated},
        "health": {"interval": "5m"},
    }
    config["routing"] = {"check_interval": "1m"}
    recorder = Recorder()
    return Mesh.from_config(config, clock=clock, observability=[recorder]), recorder


async def one_sync(clock: FakeClock) -> None:
    await clock.advance(3600)
    await clock.advance(1)  # let the jobs that woke at the hour finish


@pytest.mark.anyio
async def test_register_adds_new_models_to_the_catalogue_and_the_pools(clock: FakeClock) -> None:
    mesh, recorder = build(clock, new="register")
    async with mesh:
        with pytest.raises(UnknownTargetError):
            mesh.select("a.extra")
        await one_sync(clock)
        assert mesh.scheduler.runs["discovery-sync"] == 1
        assert "a.extra" in mesh.status()["pools"]["chat"]["models"]
        reply = await mesh.complete(model="a.extra", messages=USER)
        assert reply.text == "Hello from extra."
    (updated,) = recorder.of(EventType.DISCOVERY_MODELS_UPDATED)
    assert updated.metadata["registered"] == ["a.extra"]
    (membership,) = recorder.of(EventType.POOL_MEMBERSHIP_CHANGED)
    assert (membership.pool_id, membership.metadata["added"]) == ("chat", ["a.extra"])


@pytest.mark.anyio
async def test_notify_reports_new_models_without_registering_them(clock: FakeClock) -> None:
    mesh, recorder = build(clock, new="notify")
    async with mesh:
        await one_sync(clock)
        with pytest.raises(UnknownTargetError):
            await mesh.complete(model="a.extra", messages=USER)
    (updated,) = recorder.of(EventType.DISCOVERY_MODELS_UPDATED)
    assert updated.metadata["new"] == ["a.extra"]
    assert updated.metadata["registered"] == []
    assert recorder.of(EventType.POOL_MEMBERSHIP_CHANGED) == []


@pytest.mark.anyio
async def test_ignore_takes_no_action_and_says_nothing(clock: FakeClock) -> None:
    mesh, recorder = build(clock, new="ignore")
    async with mesh:
        await one_sync(clock)
        assert "a.extra" not in mesh.entries
    assert recorder.of(EventType.DISCOVERY_MODELS_UPDATED) == []


@pytest.mark.anyio
async def test_a_deprecated_model_is_deactivated_when_asked(clock: FakeClock) -> None:
    mesh, recorder = build(clock, deprecated="deactivate", listed={"a": ["small"], "b": []})
    async with mesh:
        await one_sync(clock)
        state = mesh.status()["models"]["b.large"]
        assert (state["status"], state["detail"]) == ("standby", "deprecated by the provider")
        assert "b.large" not in mesh.status()["pools"]["chat"]["models"]
    (off,) = recorder.of(EventType.MODEL_DEACTIVATED, "b.large")
    assert off.metadata["reason"] == "manual"
    (updated,) = recorder.of(EventType.DISCOVERY_MODELS_UPDATED)
    assert updated.metadata["deactivated"] == ["b.large"]


@pytest.mark.anyio
async def test_a_deprecated_model_stays_active_under_notify(clock: FakeClock) -> None:
    mesh, recorder = build(clock, deprecated="notify", listed={"a": ["small"], "b": []})
    async with mesh:
        await one_sync(clock)
        assert mesh.status()["models"]["b.large"]["status"] == "active"
    (updated,) = recorder.of(EventType.DISCOVERY_MODELS_UPDATED)
    assert updated.metadata["deprecated"] == ["b.large"]
    assert recorder.of(EventType.MODEL_DEACTIVATED) == []


@pytest.mark.anyio
async def test_health_checks_run_on_their_interval_and_report_changes(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "b").healthy = False
        await clock.advance(299)
        assert recorder.of(EventType.PROVIDER_HEALTH_CHANGED) == []
        await clock.advance(1)
        assert mesh.scheduler.runs["health"] == 1
        mock(mesh, "b").healthy = True
        await clock.advance(300)
    changes = recorder.of(EventType.PROVIDER_HEALTH_CHANGED)
    assert [(e.provider_id, e.metadata["available"]) for e in changes] == [("b", False), ("b", True)]


@pytest.mark.anyio
async def test_probe_success_from_discovery_recovers_a_model(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        mock(mesh, "a").push({"error": "unavailable"})
        await mesh.complete(model="chat", messages=USER)
        assert mesh.status()["models"]["a.small"]["reason"] == "error_threshold"
        await clock.advance(300)
        assert mesh.status()["models"]["a.small"]["status"] == "active"
    (on,) = recorder.of(EventType.MODEL_ACTIVATED, "a.small")
    assert on.metadata["trigger"] == "probe_success"


@pytest.mark.anyio
async def test_the_health_interval_defaults_to_the_connector_interval(clock: FakeClock) -> None:
    config: dict[str, Any] = two_provider_config()
    config["discovery"] = {"connector": "health-monitor", "config": {"interval": "45s"}}
    async with Mesh.from_config(config, clock=clock) as mesh:
        assert mesh.scheduler.jobs["health"] == 45.0
        assert "discovery-sync" in mesh.scheduler.jobs


def monitored(failure_threshold: int) -> dict[str, Any]:
    config: dict[str, Any] = two_provider_config()
    config["discovery"] = {
        "connector": "health-monitor",
        "config": {"interval": "10s", "failure_threshold": failure_threshold},
        "sync": {"interval": "1d"},
    }
    return config


@pytest.mark.anyio
async def test_the_health_monitor_threshold_decides_when_a_provider_is_set_aside(clock: FakeClock) -> None:
    recorder = Recorder()
    async with Mesh.from_config(monitored(3), clock=clock, observability=[recorder]) as mesh:
        mock(mesh, "b").healthy = False
        await clock.advance(10)
        await clock.advance(10)
        assert mesh.scheduler.runs["health"] == 2
        assert mesh.status()["providers"]["b"]["status"] == "active"
        assert (await mesh.complete(model="b.large", messages=USER)).model == "b.large"
        assert recorder.of(EventType.PROVIDER_HEALTH_CHANGED) == []
        assert recorder.of(EventType.PROVIDER_DEACTIVATED) == []
        await clock.advance(10)
        provider = mesh.status()["providers"]["b"]
        assert (provider["status"], provider["reason"], provider["available"]) == (
            "deactivated",
            "unavailable",
            False,
        )
        assert mesh.status()["models"]["b.large"]["reason"] == "provider_deactivated"
        assert mesh.select("chat").candidates == ("a.small",)
        mock(mesh, "b").healthy = True
        await clock.advance(10)
        assert mesh.status()["providers"]["b"]["status"] == "active"
        assert (await mesh.complete(model="b.large", messages=USER)).model == "b.large"
    (down,) = recorder.of(EventType.PROVIDER_DEACTIVATED)
    assert (down.provider_id, down.metadata["reason"]) == ("b", "unavailable")
    (up,) = recorder.of(EventType.PROVIDER_RECOVERED)
    assert (up.provider_id, up.metadata["trigger"]) == ("b", "probe_success")
    changes = recorder.of(EventType.PROVIDER_HEALTH_CHANGED)
    assert [(e.provider_id, e.metadata["available"]) for e in changes] == [("b", False), ("b", True)]


@pytest.mark.anyio
async def test_a_probe_that_passes_does_not_recover_before_the_monitor_says_available(
    clock: FakeClock,
) -> None:
    config = monitored(1)
    config["discovery"]["config"]["recovery_threshold"] = 2
    async with Mesh.from_config(config, clock=clock) as mesh:
        mock(mesh, "b").healthy = False
        await clock.advance(10)
        assert mesh.status()["providers"]["b"]["status"] == "deactivated"
        mock(mesh, "b").healthy = True
        result = await mesh.probe("b")
        assert result.ok
        assert mesh.status()["providers"]["b"]["status"] == "deactivated"  # one success of two
        await mesh.probe("b")
        assert mesh.status()["providers"]["b"]["status"] == "active"


@pytest.mark.anyio
async def test_without_a_health_report_the_probe_decides(clock: FakeClock) -> None:
    # The static connector reports health from the last probe; with no report at all the probe's
    # own ``ok`` decides, and a failed probe does not set the provider aside.
    config: dict[str, Any] = two_provider_config()
    async with Mesh.from_config(config, clock=clock) as mesh:
        mock(mesh, "b").healthy = False
        result = await mesh.probe("b")
        assert not result.ok
        provider = mesh.status()["providers"]["b"]
        assert (provider["status"], provider["available"]) == ("active", False)
