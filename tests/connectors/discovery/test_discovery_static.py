"""meshkit.static.v1: fixed model lists, health from provider probes."""

from __future__ import annotations

import pytest
from discovery_helpers import context, mock

from meshkit.connectors.discovery import StaticDiscovery
from meshkit.testing import FakeClock
from meshkit.types import ModelInfo

pytestmark = pytest.mark.anyio


async def test_configured_models_are_diffed_with_the_catalogue(clock: FakeClock) -> None:
    static = StaticDiscovery({"models": {"fake": ["a", "b"]}}, clock=clock)
    static.attach(context(models={"fake.a": ModelInfo(id="fake.a", provider_id="fake")}))
    result = await static.sync()
    assert [m.id for m in result.new_models] == ["fake.b"]
    assert (await static.sync(["other"])).errors == {"other": "no models configured for this provider"}


async def test_probes_feed_health(clock: FakeClock) -> None:
    provider = mock("fake", "a", clock=clock, healthy=False)
    static = StaticDiscovery(clock=clock)
    static.attach(context(provider))
    result = await static.probe("fake")
    assert not result.ok
    (report,) = await static.health("fake")
    assert not report.available and report.consecutive_failures == 1 and report.availability == 0.0
