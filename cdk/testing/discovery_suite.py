"""The discovery contract: catalogue diffs, probes and health, failures reported not raised.

The connector is attached to a StaticContext of in-suite providers: ``alpha`` and
``beta`` offer the models of :data:`DISCOVERY_SCENARIO` (each with a context window of
:data:`DISCOVERY_CONTEXT_WINDOW`), ``down`` fails every call the
way a provider should (errors, a failed probe result), and ``exploding`` even raises
from its probe.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import ClassVar

import anyio
import attrs
import pytest

from ..enums import ConnectorType, DiscoveryFeature, ProviderFeature
from ..errors import ProviderUnavailableError
from ..interfaces.discovery import Discovery, StaticContext
from ..interfaces.provider import Provider
from ..types import (
    ChatMessage,
    Choice,
    CompletionRequest,
    CompletionResponse,
    HealthReport,
    ModelInfo,
    ProbeResult,
    SyncResult,
)
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .spec import DISCOVERY_CONTEXT_WINDOW, DISCOVERY_SCENARIO
from .target import ConformanceTarget

__all__ = ["DiscoverySuite"]

#: Kept for packages generated before ``meshkit.testing.DISCOVERY_CONTEXT_WINDOW`` was public.
CONTEXT_WINDOW = DISCOVERY_CONTEXT_WINDOW
#: Failed probes in a row after which any health monitor must call a provider unavailable.
FAILED_PROBES = 5
#: How far the suite moves the injected clock, at most, waiting for a probe of a provider
#: that hangs: a discovery connector's own timeout must be shorter.
HANG_LIMIT_SECONDS = 600
#: Probe outcomes, oldest first, after which the availability is checked: no share of its
#: latest probes is 0, or a miscounted share (one probe too few or too many, say).
MIXED_PROBES = (True, True, False, True, False, True)


class _CatalogueProvider(Provider):
    """A provider that offers a fixed model list, or fails."""

    connector_id = "meshkit-conformance.catalogue.v1"
    features = frozenset({ProviderFeature.LIST_MODELS})

    def __init__(
        self, name: str, models: list[str], *, down: bool = False, explode: bool = False, hang: bool = False
    ) -> None:
        super().__init__(None, name=name, clock=FakeClock())
        self.models = models
        self.down = down
        self.explode = explode
        self.hang = hang

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        message = ChatMessage(role="assistant", content="ok")
        return CompletionResponse(
            id="c", model=request.model or "m", choices=(Choice(index=0, message=message),)
        )

    async def list_models(self) -> list[ModelInfo]:
        if self.hang:
            await anyio.sleep_forever()
        if self.down or self.explode:
            raise ProviderUnavailableError("scripted outage", status_code=503, provider_id=self.name)
        return [
            ModelInfo(id=m, provider_id=self.name, context_window=DISCOVERY_CONTEXT_WINDOW)
            for m in self.models
        ]

    async def probe(self) -> ProbeResult:
        if self.hang:
            await anyio.sleep_forever()
        if self.explode:
            raise RuntimeError("the probe itself blew up")
        return await super().probe()


def _providers() -> dict[str, Provider]:
    found: dict[str, Provider] = {
        name: _CatalogueProvider(name, list(m)) for name, m in DISCOVERY_SCENARIO.items()
    }
    found["down"] = _CatalogueProvider("down", [], down=True)
    found["exploding"] = _CatalogueProvider("exploding", [], explode=True)
    return found


async def _providers_cannot_list(discovery: Discovery) -> None:
    """Every provider's listing fails."""
    for provider in discovery.context.providers.values():
        if isinstance(provider, _CatalogueProvider):
            provider.down = True


def _known(provider: str, name: str, context_window: int = DISCOVERY_CONTEXT_WINDOW) -> tuple[str, ModelInfo]:
    model_id = f"{provider}.{name}"
    return model_id, ModelInfo(id=model_id, provider_id=provider, context_window=context_window)


def _suffix_shares(outcomes: Sequence[bool]) -> list[float]:
    """The share of successes among the last ``w`` outcomes, for every ``w``."""
    return [sum(outcomes[-w:]) / w for w in range(1, len(outcomes) + 1)]


def _ids(models: tuple[ModelInfo, ...]) -> set[str]:
    return {m.id for m in models}


class DiscoverySuite(ConformanceSuite):
    """Every discovery connector passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.DISCOVERY

    @asynccontextmanager
    async def discovery(
        self,
        target: ConformanceTarget,
        catalogue: Mapping[str, ModelInfo] | None = None,
        *,
        providers: dict[str, Provider] | None = None,
        clock: FakeClock | None = None,
    ) -> AsyncIterator[Discovery]:
        """A started connector attached to the suite's providers and ``catalogue``."""
        if catalogue is None:
            catalogue = dict(
                [
                    _known("alpha", "a1"),
                    _known("alpha", "a2", context_window=4096),  # alpha now says 8192: changed
                    _known("alpha", "retired"),  # alpha no longer offers it: deprecated
                ]
            )
        async with target.environment() as config:
            instance = target.build(config, clock=clock or FakeClock())
            context = StaticContext(providers=providers if providers is not None else _providers())
            context.models = dict(catalogue)
            instance.attach(context)
            async with instance:
                yield instance

    async def sync(self, discovery: Discovery, providers: list[str] | None) -> SyncResult:
        """``sync`` that must not raise, whatever the providers do."""
        try:
            result = await discovery.sync(providers)
        except Exception as exc:
            pytest.fail(f"sync({providers}) raised {type(exc).__name__}: {exc}; report errors in the result")
        assert isinstance(result, SyncResult), f"sync() returned {type(result).__name__}"
        return result

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_reports_new_models(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                result = await self.sync(discovery, ["alpha", "beta"])
            new = _ids(result.new_models)
            assert {"alpha.a3", "beta.b1"} <= new, (
                f"new models should include alpha.a3 and beta.b1, got {new}"
            )
            assert "alpha.a1" not in new, "alpha.a1 is already in the catalogue, it is not new"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_reports_deprecated_models(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                result = await self.sync(discovery, ["alpha"])
            deprecated = _ids(result.deprecated_models)
            assert "alpha.retired" in deprecated, (
                f"alpha.retired is no longer offered, deprecated: {deprecated}"
            )
            assert "alpha.a1" not in deprecated, "alpha.a1 is still offered"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_reports_changed_models(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                result = await self.sync(discovery, ["alpha"])
            changed = {c.model_id for c in result.changed_models}
            assert "alpha.a2" in changed, f"alpha.a2's context window changed, changed: {changed}"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_is_quiet_when_nothing_changed(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            catalogue = dict(_known(p, m) for p, models in DISCOVERY_SCENARIO.items() for m in models)
            async with self.discovery(conformance_target, catalogue) as discovery:
                result = await self.sync(discovery, sorted(DISCOVERY_SCENARIO))
            assert result.is_empty, f"nothing changed, yet sync reported {result}"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_covers_only_the_named_providers(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                result = await self.sync(discovery, ["beta"])
            reported = _ids(result.new_models) | _ids(result.deprecated_models)
            assert reported == {"beta.b1"}, f"sync(['beta']) reported {reported}"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_reports_provider_errors_instead_of_raising(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                result = await self.sync(discovery, ["alpha", "down", "exploding"])
                await self.sync(discovery, None)
            assert "down" in result.errors and "exploding" in result.errors, (
                f"failing providers must appear in errors, got {dict(result.errors)}"
            )
            assert "alpha.a3" in _ids(result.new_models), "one failing provider must not hide the others"

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_probe_reports_instead_of_raising(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            async with self.discovery(conformance_target) as discovery:
                results: dict[str, ProbeResult] = {}
                for provider in ["alpha", "down", "exploding", "no-such-provider"]:
                    try:
                        results[provider] = await discovery.probe(provider)
                    except Exception as exc:
                        pytest.fail(f"probe({provider!r}) raised {type(exc).__name__}: {exc}; report it")
            assert all(isinstance(r, ProbeResult) for r in results.values())
            assert results["alpha"].ok and results["alpha"].provider_id == "alpha", (
                f"alpha: {results['alpha']}"
            )
            for provider in ["down", "exploding", "no-such-provider"]:
                assert not results[provider].ok, f"probe({provider!r}) reported ok"
                assert results[provider].error, f"probe({provider!r}) gives no error"

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_health_reflects_probes(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            async with self.discovery(conformance_target) as discovery:
                await discovery.probe("alpha")
                for _ in range(FAILED_PROBES):
                    await discovery.probe("down")
                everyone = await discovery.health()
                alpha_only = await discovery.health("alpha")
            assert all(isinstance(r, HealthReport) for r in everyone)
            by_id = {r.provider_id: r for r in everyone}
            assert {"alpha", "beta", "down"} <= set(by_id), (
                f"health() covers every provider, got {sorted(by_id)}"
            )
            assert by_id["alpha"].available, "alpha answered its probe"
            down = by_id["down"]
            assert not down.available, f"down failed {FAILED_PROBES} probes in a row, yet is available"
            assert down.consecutive_failures == FAILED_PROBES, f"down failed {FAILED_PROBES} times: {down}"
            assert down.availability == 0.0 and by_id["alpha"].availability == 1.0, (
                f"availability: {everyone}"
            )
            assert all(0.0 <= r.availability <= 1.0 for r in everyone), "availability is a fraction"
            assert [r.provider_id for r in alpha_only] == ["alpha"], f"health('alpha') gave {alpha_only}"

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_diffs_against_the_current_catalogue(
        self, conformance_target: ConformanceTarget
    ) -> None:
        """Between two syncs the runtime registers and retires models: the second sees that."""
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            async with self.discovery(conformance_target) as discovery:
                first = await self.sync(discovery, ["alpha"])
                assert "alpha.a3" in _ids(first.new_models), f"first sync: new {_ids(first.new_models)}"
                # What the runtime does with the result: a3 registered, a2 updated, retired marked.
                models = discovery.context.catalogue()
                assert isinstance(models, dict)
                models.update(dict([_known("alpha", "a2"), _known("alpha", "a3")]))
                models["alpha.retired"] = attrs.evolve(models["alpha.retired"], deprecated=True)
                second = await self.sync(discovery, ["alpha"])
            assert second.is_empty, (
                "the catalogue took in the first sync's changes, so a second sync has nothing to report; it "
                f"reported new {sorted(_ids(second.new_models))}, deprecated "
                f"{sorted(_ids(second.deprecated_models))}, changed "
                f"{sorted(c.model_id for c in second.changed_models)}: "
                "diff against the catalogue as it is now"
            )

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_sync_sees_a_changed_listing(self, conformance_target: ConformanceTarget) -> None:
        """A provider that starts offering one model and stops offering another, between two syncs."""
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            catalogue = dict(_known("alpha", m) for m in DISCOVERY_SCENARIO["alpha"])
            async with self.discovery(conformance_target, catalogue) as discovery:
                first = await self.sync(discovery, ["alpha"])
                assert first.is_empty, f"the catalogue matches alpha's listing, yet sync reported {first}"
                alpha = discovery.context.providers["alpha"]
                assert isinstance(alpha, _CatalogueProvider)
                alpha.models = [m for m in alpha.models if m != "a1"] + ["a4"]
                change = conformance_target.spec.change_listing
                if change is not None:  # the connector reads listings from a source of its own
                    await change(discovery, "alpha", list(alpha.models))
                second = await self.sync(discovery, ["alpha"])
            assert _ids(second.new_models) == {"alpha.a4"}, (
                f"alpha now offers a4: new {sorted(_ids(second.new_models))} (a listing kept from before?)"
            )
            assert _ids(second.deprecated_models) == {"alpha.a1"}, (
                f"alpha no longer offers a1: deprecated {sorted(_ids(second.deprecated_models))}"
            )

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_failed_listing_deprecates_nothing(self, conformance_target: ConformanceTarget) -> None:
        """A provider that cannot list its models has not retired them."""
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            catalogue = dict([_known("down", "d1"), _known("down", "d2"), _known("alpha", "a1")])
            async with self.discovery(conformance_target, catalogue) as discovery:
                result = await self.sync(discovery, ["down", "alpha"])
            assert "down" in result.errors, f"down's listing failed: errors {dict(result.errors)}"
            wrongly = sorted(m for m in _ids(result.deprecated_models) if m.startswith("down."))
            assert not wrongly, (
                f"down's listing failed, yet sync called {wrongly} deprecated: a failed listing is not an "
                "empty one"
            )

    @pytest.mark.meshkit_feature(DiscoveryFeature.SYNC)
    @pytest.mark.anyio
    async def test_broken_listing_source_is_reported(self, conformance_target: ConformanceTarget) -> None:
        """Where the listings come from cannot be read: a sync says so, raises nothing, retires nothing."""
        with self.feature(conformance_target, DiscoveryFeature.SYNC):
            ways = conformance_target.spec.break_listing or (_providers_cannot_list,)
            catalogue = dict(_known("alpha", m) for m in DISCOVERY_SCENARIO["alpha"])
            for way in ways:
                what = str(getattr(way, "__doc__", None) or getattr(way, "__name__", repr(way))).strip()
                for asked in (["alpha"], None):
                    async with self.discovery(conformance_target, catalogue) as discovery:
                        await way(discovery)
                        try:
                            result = await discovery.sync(asked)
                        except Exception as exc:
                            pytest.fail(
                                f"{what}: sync({asked}) raised {type(exc).__name__}: {exc}; "
                                "a listing that cannot be read is reported in the result's errors",
                                pytrace=False,
                            )
                    assert "alpha" in result.errors, (
                        f"{what}: sync({asked}) must report alpha's listing as failed, errors "
                        f"{dict(result.errors)}"
                    )
                    wrongly = sorted(_ids(result.deprecated_models))
                    assert not wrongly, (
                        f"{what}: nothing could be listed, yet sync({asked}) called {wrongly} "
                        "deprecated: a listing that cannot be read is not an empty one"
                    )

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_probe_returns_within_its_timeout_when_the_provider_hangs(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            providers: dict[str, Provider] = {"hung": _CatalogueProvider("hung", ["h1"], hang=True)}
            async with self.discovery(conformance_target, {}, providers=providers, clock=clock) as discovery:
                results: list[ProbeResult] = []
                raised: list[BaseException] = []

                async def probe() -> None:
                    try:
                        results.append(await discovery.probe("hung"))
                    except Exception as exc:
                        raised.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(probe)
                    waited = 0
                    while not (results or raised) and waited < HANG_LIMIT_SECONDS:
                        for _ in range(5):
                            await anyio.lowlevel.checkpoint()
                        await clock.advance(1)
                        waited += 1
                    tg.cancel_scope.cancel()
            assert not raised, f"probe('hung') raised {raised[0]!r}; report it in the result"
            assert results, (
                f"probe('hung') had not returned after {HANG_LIMIT_SECONDS}s on the injected clock while the "
                "provider hung: bound each probe by a timeout on the connector's clock"
            )
            assert not results[0].ok and results[0].error, f"a hung provider's probe reported {results[0]}"

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_failure_count_resets_after_a_success(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            async with self.discovery(conformance_target) as discovery:
                flaky = discovery.context.providers["down"]
                assert isinstance(flaky, _CatalogueProvider)
                for _ in range(3):
                    await discovery.probe("down")
                flaky.down = False
                recovered = await discovery.probe("down")
                assert recovered.ok, f"down answers again, yet its probe reported {recovered}"
                [after_success] = await discovery.health("down")
                flaky.down = True
                await discovery.probe("down")
                [after_one_more] = await discovery.health("down")
            assert after_success.consecutive_failures == 0, (
                f"a successful probe ends a run of failures: consecutive_failures is "
                f"{after_success.consecutive_failures}"
            )
            assert after_one_more.consecutive_failures == 1, (
                f"one failure after a success is a run of 1, not {after_one_more.consecutive_failures}"
            )

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_health_of_a_provider_never_probed(self, conformance_target: ConformanceTarget) -> None:
        """A provider nobody has probed yet is presumed available: no failures, availability 1.0."""
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            async with self.discovery(conformance_target) as discovery:
                await discovery.probe("alpha")
                await discovery.probe("down")
                everyone = {r.provider_id: r for r in await discovery.health()}
                [alone] = await discovery.health("beta")
            assert "beta" in everyone, f"health() covers every provider, got {sorted(everyone)}"
            for where, beta in (("health()", everyone["beta"]), ("health('beta')", alone)):
                assert beta.provider_id == "beta", f"{where} reported {beta.provider_id!r} for beta"
                assert beta.available and beta.availability == 1.0 and beta.consecutive_failures == 0, (
                    f"beta was never probed, so nothing speaks against it: {where} must report it available, "
                    f"availability 1.0, no failures; it reported {beta}"
                )
                assert beta.last_checked is None, (
                    f"beta was never probed, yet {where} says {beta.last_checked}"
                )

    @pytest.mark.meshkit_feature(DiscoveryFeature.HEALTH)
    @pytest.mark.anyio
    async def test_availability_is_the_share_of_successful_probes(
        self, conformance_target: ConformanceTarget
    ) -> None:
        """After a mix of outcomes, ``availability`` is the share of successes among the latest probes."""
        with self.feature(conformance_target, DiscoveryFeature.HEALTH):
            async with self.discovery(conformance_target) as discovery:
                flaky = discovery.context.providers["down"]
                assert isinstance(flaky, _CatalogueProvider)
                for ok in MIXED_PROBES:
                    flaky.down = not ok
                    await discovery.probe("down")
                [report] = await discovery.health("down")
            shares = _suffix_shares(MIXED_PROBES)
            assert any(math.isclose(report.availability, share) for share in shares), (
                f"after probes {['ok' if ok else 'failed' for ok in MIXED_PROBES]}, availability is "
                f"{report.availability}: the share of successes among the latest W probes (W of the "
                f"connector's choosing) is one of {sorted(set(shares))}"
            )
