"""Providers that misbehave in the ways discovery must survive."""

from __future__ import annotations

import anyio
import attrs

from meshkit.connectors.providers.mock import MockConfig, MockProvider
from meshkit.enums import ProviderFeature
from meshkit.errors import ProviderUnavailableError
from meshkit.interfaces import Provider
from meshkit.interfaces.discovery import StaticContext
from meshkit.testing import FakeClock
from meshkit.types import ModelInfo, ProbeResult, Secret

API_KEY = "sk-live-0123456789abcdef"


class HangingProvider(MockProvider):
    """Never answers ``list_models`` (and so never answers the default probe)."""

    connector_id = "tests.hanging.v1"

    async def list_models(self) -> list[ModelInfo]:
        await anyio.Event().wait()
        raise AssertionError("unreachable")


class NoListingProvider(MockProvider):
    """A provider that cannot list its models."""

    connector_id = "tests.no-listing.v1"
    features = frozenset({ProviderFeature.STREAMING})


@attrs.frozen(kw_only=True)
class KeyedConfig(MockConfig):
    api_key: Secret = attrs.field(factory=lambda: Secret(API_KEY))


class LeakyProvider(MockProvider):
    """Fails with an error message that quotes its own key."""

    connector_id = "tests.leaky.v1"
    Config = KeyedConfig

    async def list_models(self) -> list[ModelInfo]:
        raise RuntimeError(f"key {self.config.api_key.reveal()} was refused")


class TimedProbeProvider(MockProvider):
    """Answers probes after ``delay`` seconds on its clock, failing while unhealthy."""

    connector_id = "tests.timed-probe.v1"
    delay = 0.25

    async def probe(self) -> ProbeResult:
        await self.clock.sleep(self.delay)
        if not self.healthy:
            raise ProviderUnavailableError("down for maintenance", status_code=503)
        return ProbeResult(provider_id=self.name, ok=True, checked_at=self.clock.now())


def context(*providers: Provider, models: dict[str, ModelInfo] | None = None) -> StaticContext:
    """A context holding ``providers`` by name, and a catalogue."""
    return StaticContext(providers={p.name: p for p in providers}, models=dict(models or {}))


def mock(name: str, *models: str, clock: FakeClock, **config: object) -> MockProvider:
    """A healthy mock provider called ``name`` offering ``models``."""
    return MockProvider({"models": list(models), **config}, name=name, clock=clock)
