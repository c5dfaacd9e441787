"""meshkit.static.v1: fixed model lists, health from provider probes."""

from __future__ import annotations

from pathlib import Path

import pytest
from discovery_helpers import context, mock

from meshkit.connectors.discovery import StaticDiscovery
from meshkit.errors import ConfigError
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


async def test_a_stated_context_window_shows_a_changed_model(clock: FakeClock) -> None:
    config = {"models": {"fake": ["a", {"name": "b", "context_window": 8192, "capabilities": ["chat"]}]}}
    static = StaticDiscovery(config, clock=clock)
    known = {f"fake.{m}": ModelInfo(id=f"fake.{m}", provider_id="fake", context_window=4096) for m in "ab"}
    static.attach(context(models=known))
    result = await static.sync()
    assert [(c.model_id, c.before.context_window, c.after.context_window) for c in result.changed_models] == [
        ("fake.b", 4096, 8192)
    ]
    assert result.changed_models[0].after.capabilities == ("chat",)
    assert not result.new_models and not result.deprecated_models  # a bare name states nothing to change


def test_a_stated_model_is_checked_by_path() -> None:
    with pytest.raises(ConfigError) as info:
        StaticDiscovery({"models": {"fake": [{"name": "b", "context_windw": 8192}]}})
    assert "config.models.fake[0].context_windw: unknown key" in str(info.value)


async def test_the_models_file_is_read_at_every_sync(clock: FakeClock, tmp_path: Path) -> None:
    file = tmp_path / "models.yaml"
    file.write_text("fake: [a, {name: b, context_window: 8192}]\n")
    config = {"models": {"fake": ["z"], "other": ["o"]}, "models_file": str(file)}
    static = StaticDiscovery(config, clock=clock)
    static.attach(context(models={"fake.a": ModelInfo(id="fake.a", provider_id="fake")}))
    first = await static.sync()
    assert sorted(m.id for m in first.new_models) == ["fake.b", "other.o"]  # the file's list wins for fake
    file.write_text("fake: [b]\n")
    second = await static.sync(["fake"])
    assert [m.id for m in second.deprecated_models] == ["fake.a"]


async def test_a_models_file_that_cannot_be_read_retires_nothing(clock: FakeClock, tmp_path: Path) -> None:
    file = tmp_path / "models.yaml"
    file.write_text("fake: [{name: b, context_windw: 1}]\n")
    static = StaticDiscovery({"models": {"fake": ["a"]}, "models_file": str(file)}, clock=clock)
    static.attach(context(models={"fake.a": ModelInfo(id="fake.a", provider_id="fake")}))
    result = await static.sync()
    assert not result.deprecated_models and not result.new_models
    assert ": models.fake[0].context_windw: unknown key" in result.errors["fake"]
    file.unlink()
    assert "cannot read models_file" in (await static.sync(["fake"])).errors["fake"]


async def test_a_models_file_that_is_not_yaml_is_reported(clock: FakeClock, tmp_path: Path) -> None:
    file = tmp_path / "models.yaml"
    file.write_text("fake: [a, b\n")  # saved half-way through an edit
    static = StaticDiscovery({"models": {"fake": ["a"]}, "models_file": str(file)}, clock=clock)
    static.attach(context(models={"fake.a": ModelInfo(id="fake.a", provider_id="fake")}))
    result = await static.sync()
    assert not result.deprecated_models and not result.new_models
    assert "cannot read models_file" in result.errors["fake"]
