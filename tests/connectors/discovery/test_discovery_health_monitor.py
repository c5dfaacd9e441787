"""meshkit.health-monitor.v1: probe rounds, rolling availability, failure threshold."""

from __future__ import annotations

import functools

import anyio
import pytest
from discovery_helpers import HangingProvider, TimedProbeProvider, context, mock

from meshkit.connectors.discovery import HealthMonitor
from meshkit.enums import DiscoveryFeature
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock
from meshkit.types import HealthReport

pytestmark = pytest.mark.anyio


async def test_availability_is_the_share_of_successes_over_the_window(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock)
    monitor = HealthMonitor({"window": 4, "failure_threshold": 5}, clock=clock)
    monitor.attach(context(provider))
    scores = []
    for healthy in (True, False, False, True, True, True, True):
        provider.healthy = healthy
        (report,) = await monitor.probe_all()
        scores.append(report.availability)
    # Window of 4: [T] [T F] [T F F] [T F F T] [F F T T] [F T T T] [T T T T]
    assert scores == [1.0, 0.5, 1 / 3, 0.5, 0.5, 0.75, 1.0]


async def test_a_provider_goes_unavailable_only_after_the_failure_threshold(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock)
    monitor = HealthMonitor({"failure_threshold": 3}, clock=clock)
    monitor.attach(context(provider))
    provider.healthy = False
    seen = []
    for _ in range(3):
        (report,) = await monitor.probe_all()
        seen.append((report.available, report.consecutive_failures))
    assert seen == [(True, 1), (True, 2), (False, 3)]
    assert report.last_error is not None and "unhealthy" in report.last_error


async def test_recovery_needs_the_configured_run_of_successes(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock, healthy=False)
    monitor = HealthMonitor({"failure_threshold": 1, "recovery_threshold": 2}, clock=clock)
    monitor.attach(context(provider))
    (report,) = await monitor.probe_all()
    assert not report.available
    provider.healthy = True
    (report,) = await monitor.probe_all()
    assert not report.available and report.consecutive_failures == 0
    (report,) = await monitor.probe_all()
    assert report.available


async def test_one_failure_between_successes_resets_the_count(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock)
    monitor = HealthMonitor({"failure_threshold": 2}, clock=clock)
    monitor.attach(context(provider))
    for healthy in (False, True, False, True, False):
        provider.healthy = healthy
        (report,) = await monitor.probe_all()
        assert report.available


async def test_latency_is_measured_on_the_injected_clock(clock: FakeClock) -> None:
    provider = TimedProbeProvider(name="timed", clock=clock)
    monitor = HealthMonitor(clock=clock)
    monitor.attach(context(provider))
    reports: list[list[HealthReport]] = []

    async def one_round() -> None:
        reports.append(await monitor.probe_all())

    async with anyio.create_task_group() as group:
        group.start_soon(one_round)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(0.25)
    ((report,),) = reports
    assert report.latency_ms == pytest.approx(250.0)
    assert report.last_checked == clock.now()


async def test_hung_probes_time_out_together_and_count_as_failures(clock: FakeClock) -> None:
    monitor = HealthMonitor({"timeout": "5s", "failure_threshold": 1}, clock=clock)
    monitor.attach(
        context(
            HangingProvider(name="stuck-1", clock=clock),
            HangingProvider(name="stuck-2", clock=clock),
            mock("fine", "a", clock=clock),
        )
    )
    rounds: list[list[HealthReport]] = []

    async def one_round() -> None:
        rounds.append(await monitor.probe_all())

    async with anyio.create_task_group() as group:
        group.start_soon(one_round)
        await anyio.wait_all_tasks_blocked()
        await clock.advance(4.9)
        await anyio.wait_all_tasks_blocked()
        assert rounds == []
        await clock.advance(0.1)
    (reports,) = rounds
    by_id = {r.provider_id: r for r in reports}
    assert [r.provider_id for r in reports] == ["fine", "stuck-1", "stuck-2"]
    assert by_id["fine"].available
    for stuck in ("stuck-1", "stuck-2"):
        assert not by_id[stuck].available
        assert by_id[stuck].last_error == "probe timed out after 5s"
        assert by_id[stuck].availability == 0.0


async def test_run_probes_every_interval_and_reports_flips(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock)
    monitor = HealthMonitor({"interval": "60s", "failure_threshold": 2}, clock=clock)
    monitor.attach(context(provider))
    changes: list[HealthReport] = []
    async with anyio.create_task_group() as group:
        await group.start(functools.partial(monitor.run, on_change=changes.append))
        (report,) = await monitor.health("fake")
        assert report.available and report.last_checked == clock.now()

        provider.healthy = False
        for _ in range(2):
            await clock.advance(60)
            await anyio.wait_all_tasks_blocked()
        assert [(c.provider_id, c.available) for c in changes] == [("fake", False)]

        provider.healthy = True
        await clock.advance(30)
        await anyio.wait_all_tasks_blocked()
        assert len(changes) == 1  # no round between intervals
        await clock.advance(30)
        await anyio.wait_all_tasks_blocked()
        assert [c.available for c in changes] == [False, True]
        group.cancel_scope.cancel()
    (report,) = await monitor.health("fake")
    assert report.availability == pytest.approx(2 / 4)


async def test_health_lists_every_provider_and_flags_unknown_ones(clock: FakeClock) -> None:
    monitor = HealthMonitor(clock=clock)
    monitor.attach(context(mock("b", "x", clock=clock), mock("a", "y", clock=clock)))
    reports = await monitor.health()
    assert [(r.provider_id, r.available, r.availability) for r in reports] == [
        ("a", True, 1.0),
        ("b", True, 1.0),
    ]
    (ghost,) = await monitor.health("ghost")
    assert not ghost.available and ghost.last_error == "unknown provider 'ghost'"


async def test_it_also_syncs_the_catalogue(clock: FakeClock) -> None:
    monitor = HealthMonitor(clock=clock)
    monitor.attach(context(mock("fake", "a", clock=clock)))
    result = await monitor.sync()
    assert [m.id for m in result.new_models] == ["fake.a"]
    assert monitor.supports(DiscoveryFeature.HEALTH) and monitor.supports(DiscoveryFeature.SYNC)


def test_config_values_are_checked_with_their_path() -> None:
    with pytest.raises(ConfigError, match=r"config\.window: expected at least 1"):
        HealthMonitor({"window": 0})
    with pytest.raises(ConfigError, match=r"config\.interval: expected a duration"):
        HealthMonitor({"interval": "soon"})
