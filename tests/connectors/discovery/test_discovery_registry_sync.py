"""meshkit.registry-sync.v1: providers' model lists, diffed with the catalogue."""

from __future__ import annotations

import anyio
import pytest
from discovery_helpers import (
    API_KEY,
    HangingProvider,
    LeakyProvider,
    NoListingProvider,
    context,
    mock,
)

from meshkit.connectors.discovery import RegistrySync
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock
from meshkit.types import ModelInfo, ModelPricing, SyncResult

pytestmark = pytest.mark.anyio


def ids(models: tuple[ModelInfo, ...]) -> list[str]:
    return [m.id for m in models]


async def test_new_models_are_reported_under_their_provider(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(mock("fake", "small", "large", clock=clock)))
    result = await sync.sync()
    assert ids(result.new_models) == ["fake.small", "fake.large"]
    assert {m.provider_id for m in result.new_models} == {"fake"}
    assert result.errors == {} and result.skipped == () and not result.deprecated_models


async def test_changes_and_disappearances_are_diffed_against_the_catalogue(clock: FakeClock) -> None:
    provider = mock(
        "fake",
        "small",
        "large",
        clock=clock,
        pricing={"small": {"input_per_1k": 0.2, "output_per_1k": 0.4}},
    )
    catalogue = {
        "fake.small": ModelInfo(id="fake.small", provider_id="fake", pricing=ModelPricing(0.1, 0.2)),
        "fake.retired": ModelInfo(id="fake.retired", provider_id="fake"),
        "other.kept": ModelInfo(id="other.kept", provider_id="other"),
    }
    sync = RegistrySync(clock=clock)
    sync.attach(context(provider, models=catalogue))
    result = await sync.sync(["fake"])
    assert ids(result.new_models) == ["fake.large"]
    assert [c.model_id for c in result.changed_models] == ["fake.small"]
    assert result.changed_models[0].after.pricing == ModelPricing(0.2, 0.4)
    assert ids(result.deprecated_models) == ["fake.retired"]
    assert result.deprecated_models[0].deprecated


async def test_a_failing_provider_is_an_error_and_none_of_its_models_is_deprecated(clock: FakeClock) -> None:
    down = mock("down", "a", clock=clock, healthy=False)
    up = mock("up", "b", clock=clock)
    catalogue = {"down.a": ModelInfo(id="down.a", provider_id="down")}
    sync = RegistrySync(clock=clock)
    sync.attach(context(down, up, models=catalogue))
    result = await sync.sync()
    assert list(result.errors) == ["down"]
    assert "ProviderUnavailableError" in result.errors["down"]
    assert "unhealthy" in result.errors["down"]
    assert result.deprecated_models == ()
    assert ids(result.new_models) == ["up.b"]


async def test_providers_that_cannot_list_models_are_skipped_not_errors(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(NoListingProvider(name="quiet", clock=clock), mock("fake", "a", clock=clock)))
    result = await sync.sync()
    assert result.skipped == ("quiet",)
    assert result.errors == {}
    assert ids(result.new_models) == ["fake.a"]


async def test_an_unknown_provider_is_reported_by_name(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(mock("fake", "a", clock=clock)))
    result = await sync.sync(["fake", "ghost", "fake"])
    assert result.errors == {"ghost": "unknown provider 'ghost'"}
    assert ids(result.new_models) == ["fake.a"]


async def test_hung_providers_time_out_together_on_the_injected_clock(clock: FakeClock) -> None:
    sync = RegistrySync({"timeout": "10s"}, clock=clock)
    sync.attach(
        context(
            HangingProvider(name="stuck-1", clock=clock),
            HangingProvider(name="stuck-2", clock=clock),
            mock("fine", "a", clock=clock),
        )
    )
    results: list[SyncResult] = []

    async def run_sync() -> None:
        results.append(await sync.sync())

    async with anyio.create_task_group() as group:
        group.start_soon(run_sync)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(9.5)
        await anyio.wait_all_tasks_blocked()
        assert results == []  # still waiting on the hung providers
        await clock.advance(0.5)  # both were asked at once, so both time out now
    (result,) = results
    assert result.errors == {
        "stuck-1": "list_models timed out after 10s",
        "stuck-2": "list_models timed out after 10s",
    }
    assert ids(result.new_models) == ["fine.a"]


async def test_an_outer_cancellation_stops_the_sync_cleanly(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(HangingProvider(name="stuck", clock=clock)))
    finished = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:

            async def run_sync() -> None:
                finished.append(await sync.sync())

            group.start_soon(run_sync)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
    assert scope.cancelled_caught
    assert finished == []


async def test_secrets_in_provider_errors_are_redacted(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(LeakyProvider(name="leaky", clock=clock)))
    result = await sync.sync()
    assert API_KEY not in result.errors["leaky"]
    assert "**********" in result.errors["leaky"]
    assert API_KEY not in repr(result)


async def test_probe_reports_success_timeout_and_unknown_providers(clock: FakeClock) -> None:
    sync = RegistrySync({"timeout": "2s"}, clock=clock)
    sync.attach(context(mock("fine", "a", clock=clock), HangingProvider(name="stuck", clock=clock)))
    ok = await sync.probe("fine")
    assert ok.ok and ok.provider_id == "fine" and ok.checked_at == clock.now()

    probes = []

    async def probe_stuck() -> None:
        probes.append(await sync.probe("stuck"))

    async with anyio.create_task_group() as group:
        group.start_soon(probe_stuck)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(2)
    (stuck,) = probes
    assert not stuck.ok
    assert stuck.error == "probe timed out after 2s"
    assert stuck.latency_ms == 2000.0

    ghost = await sync.probe("ghost")
    assert not ghost.ok and ghost.error == "unknown provider 'ghost'"

    reports = {r.provider_id: r for r in await sync.health()}
    assert reports["fine"].available and reports["fine"].availability == 1.0
    assert not reports["stuck"].available and reports["stuck"].last_error == "probe timed out after 2s"
    assert not reports["ghost"].available


async def test_health_before_any_probe_presumes_known_providers_available(clock: FakeClock) -> None:
    sync = RegistrySync(clock=clock)
    sync.attach(context(mock("fine", "a", clock=clock)))
    (report,) = await sync.health("fine")
    assert report.available and report.availability == 1.0 and report.last_checked is None
    (ghost,) = await sync.health("ghost")
    assert not ghost.available


def test_a_zero_timeout_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"config\.timeout: expected a duration above 0"):
        RegistrySync({"timeout": "0s"})
