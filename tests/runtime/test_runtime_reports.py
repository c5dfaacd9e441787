"""Stats reports: ``mesh.status()`` handed to every observability connector on a schedule and at close."""

from __future__ import annotations

from typing import Any

import pytest
from runtime_helpers import USER, Recorder, two_provider_config

from meshkit import ConfigError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock


def config(**observability: Any) -> dict[str, Any]:
    return two_provider_config(extra={"observability": observability})


@pytest.mark.anyio
async def test_reports_arrive_every_interval_on_the_mesh_clock_and_at_close(clock: FakeClock) -> None:
    recorder = Recorder()
    async with Mesh.from_config(config(report_interval="30s"), clock=clock, observability=[recorder]) as mesh:
        await clock.advance(29)
        assert recorder.reports == []
        await clock.advance(1)
        (first,) = recorder.reports
        assert first["models"]["a.small"]["counters"]["requests"] == 0
        await mesh.deactivate("b.large")
        await clock.advance(30)
        assert len(recorder.reports) == 2
        assert recorder.reports[1]["models"]["b.large"]["status"] == "standby"
        await mesh.complete(model="chat", messages=USER)
    assert len(recorder.reports) == 3  # the last one at close
    final = recorder.reports[-1]
    assert final["models"]["a.small"]["counters"]["requests"] == 1
    assert final["pools"]["chat"]["active"] == 1


@pytest.mark.anyio
async def test_the_default_interval_is_a_minute(clock: FakeClock) -> None:
    recorder = Recorder()
    async with Mesh.from_config(config(), clock=clock, observability=[recorder]) as mesh:
        assert mesh.scheduler.jobs["report"] == 60.0
        await clock.advance(60)
        assert len(recorder.reports) == 1


@pytest.mark.anyio
async def test_an_interval_of_zero_reports_only_at_close(clock: FakeClock) -> None:
    recorder = Recorder()
    async with Mesh.from_config(config(report_interval=0), clock=clock, observability=[recorder]) as mesh:
        assert "report" not in mesh.scheduler.jobs
        await clock.advance(3600)
        assert recorder.reports == []
    assert len(recorder.reports) == 1


@pytest.mark.anyio
async def test_a_sink_that_fails_on_a_report_does_not_stop_the_others(clock: FakeClock) -> None:
    class Broken(Recorder):
        def handle_report(self, stats: Any) -> None:
            raise RuntimeError("boom")

    broken, recorder = Broken(), Recorder()
    async with Mesh.from_config(config(), clock=clock, observability=[broken, recorder]) as mesh:
        mesh.report()
        assert len(recorder.reports) == 1


@pytest.mark.anyio
async def test_prometheus_gauges_follow_the_reports(clock: FakeClock) -> None:
    pytest.importorskip("prometheus_client")
    from meshkit.connectors.observability.prometheus import PrometheusObservability

    cfg = config(connectors=[{"connector": "prometheus"}], report_interval="10s")
    async with Mesh.from_config(cfg, clock=clock) as mesh:
        (metrics,) = [o for o in mesh.observability if isinstance(o, PrometheusObservability)]

        def sample(name: str, **labels: str) -> float | None:
            return metrics.registry.get_sample_value(name, labels)

        # Nothing has happened yet, so no event has told the gauges anything.
        assert sample("meshkit_pool_active_models", pool="chat") is None
        await clock.advance(10)
        assert sample("meshkit_pool_active_models", pool="chat") == 2
        status = {"pool": "chat", "model": "a.small", "meshkit_model_status": "active"}
        assert sample("meshkit_model_status", **status) == 1
        assert sample("meshkit_provider_available", provider="a") == 1


def test_a_negative_report_interval_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        Mesh.from_config(config(report_interval="-5s"))
    assert "observability.report_interval" in str(info.value)
