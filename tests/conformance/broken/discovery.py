"""A discovery connector done right, and copies of it that each get one thing wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import attrs

from meshkit.connectors.discovery._results import sync_result
from meshkit.connectors.discovery.static import StaticDiscovery, StaticDiscoveryConfig, StaticModel
from meshkit.enums import DiscoveryFeature
from meshkit.interfaces import check
from meshkit.interfaces.discovery import Discovery, diff_catalogue
from meshkit.types import HealthReport, ModelInfo, ProbeResult, SyncResult

T = TypeVar("T")

#: Seconds a probe may take on the injected clock.
PROBE_TIMEOUT = 10.0


async def within(clock: Any, seconds: float, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, or TimeoutError once ``seconds`` pass on ``clock``."""
    outcome: list[T] = []
    async with anyio.create_task_group() as group:

        async def expire() -> None:
            await clock.sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(expire)
        outcome.append(await call())
        group.cancel_scope.cancel()
    if not outcome:
        raise TimeoutError(f"no answer within {seconds:g}s")
    return outcome[0]


class ListingDiscovery(Discovery):
    """Syncs from each provider's ``list_models``; health from its probes."""

    connector_id = "reference.listing-discovery.v1"
    features = frozenset({DiscoveryFeature.SYNC, DiscoveryFeature.HEALTH})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history: dict[str, list[ProbeResult]] = {}

    async def found(self, provider_id: str) -> list[ModelInfo]:
        return await self.context.providers[provider_id].list_models()

    def catalogue(self) -> Mapping[str, ModelInfo]:
        return self.context.catalogue()

    async def ask_probe(self, provider: Any) -> ProbeResult:
        result: ProbeResult = await within(self.clock, PROBE_TIMEOUT, provider.probe)
        return result

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        ids = list(provider_ids) if provider_ids is not None else sorted(self.context.providers)
        new: list[ModelInfo] = []
        deprecated: list[ModelInfo] = []
        changed: list[Any] = []
        errors: dict[str, str] = {}
        for pid in ids:
            try:
                found = await self.found(pid)
            except Exception as exc:
                errors[pid] = f"{type(exc).__name__}: {exc}"
                continue
            n, d, c = diff_catalogue(pid, found, self.catalogue())
            new, deprecated, changed = new + n, deprecated + d, changed + c
        return SyncResult(
            new_models=tuple(new),
            deprecated_models=tuple(deprecated),
            changed_models=tuple(changed),
            errors=errors,
        )

    async def probe(self, provider_id: str) -> ProbeResult:
        provider = self.context.providers.get(provider_id)
        try:
            if provider is None:
                raise LookupError(f"unknown provider {provider_id!r}")
            result = attrs.evolve(await self.ask_probe(provider), provider_id=provider_id)
        except Exception as exc:
            result = ProbeResult(
                provider_id=provider_id, ok=False, checked_at=self.clock.now(), error=str(exc)
            )
        self.history.setdefault(provider_id, []).append(result)
        return result

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        ids = [provider_id] if provider_id is not None else sorted(self.context.providers)
        reports = []
        for pid in ids:
            seen = self.history.get(pid, [])
            failures = 0
            for result in reversed(seen):
                if result.ok:
                    break
                failures += 1
            reports.append(
                HealthReport(
                    provider_id=pid,
                    available=not seen or seen[-1].ok,
                    availability=sum(r.ok for r in seen) / len(seen) if seen else 1.0,
                    consecutive_failures=failures,
                )
            )
        return reports


class NothingNew(ListingDiscovery):
    """Defect: merges what it found into the catalogue before comparing, so nothing is new."""

    connector_id = "defect.nothing-new.v1"

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        result = await super().sync(provider_ids)
        return attrs.evolve(result, new_models=())


class RaisingProbe(ListingDiscovery):
    """Defect: probes by listing models, and lets the provider's error escape."""

    connector_id = "defect.raising-probe.v1"

    async def probe(self, provider_id: str) -> ProbeResult:
        await self.context.providers[provider_id].list_models()
        return await super().probe(provider_id)


class RaisingSync(ListingDiscovery):
    """Defect: one failing provider makes the whole sync raise."""

    connector_id = "defect.raising-sync.v1"

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        result = await super().sync(provider_ids)
        if result.errors:
            raise RuntimeError(f"sync failed: {dict(result.errors)}")
        return result


class ForgetfulHealth(ListingDiscovery):
    """Defect: reports every provider as healthy."""

    connector_id = "defect.forgetful-health.v1"

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        return [
            attrs.evolve(r, available=True, availability=1.0, consecutive_failures=0)
            for r in await super().health(provider_id)
        ]


class CachedCatalogue(ListingDiscovery):
    """Defect: copies the catalogue on its first sync and diffs every later sync against that copy."""

    connector_id = "defect.cached-catalogue.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._catalogue: dict[str, ModelInfo] | None = None

    def catalogue(self) -> Mapping[str, ModelInfo]:
        if self._catalogue is None:
            self._catalogue = dict(self.context.catalogue())
        return self._catalogue


class CachedListing(ListingDiscovery):
    """Defect: keeps each provider's model list after the first call, to spare the provider."""

    connector_id = "defect.cached-listing.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listings: dict[str, list[ModelInfo]] = {}

    async def found(self, provider_id: str) -> list[ModelInfo]:
        if provider_id not in self._listings:
            self._listings[provider_id] = await super().found(provider_id)
        return self._listings[provider_id]


class FailureIsEmpty(ListingDiscovery):
    """Defect: a provider whose listing fails is reported, and also diffed as if it listed nothing."""

    connector_id = "defect.failure-is-empty.v1"

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        result = await super().sync(provider_ids)
        deprecated = list(result.deprecated_models)
        for pid in result.errors:
            deprecated += diff_catalogue(pid, [], self.catalogue())[1]
        return attrs.evolve(result, deprecated_models=tuple(deprecated))


class UnboundedProbe(ListingDiscovery):
    """Defect: awaits the provider's probe with no timeout, so a hung provider hangs the probe."""

    connector_id = "defect.unbounded-probe.v1"

    async def ask_probe(self, provider: Any) -> ProbeResult:
        result: ProbeResult = await provider.probe()
        return result


class FailuresNeverReset(ListingDiscovery):
    """Defect: counts every failed probe ever as 'consecutive failures'."""

    connector_id = "defect.failures-never-reset.v1"

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        reports = await super().health(provider_id)
        return [
            attrs.evolve(r, consecutive_failures=sum(not p.ok for p in self.history.get(r.provider_id, [])))
            for r in reports
        ]


class FileReadOnce(StaticDiscovery):
    """Defect: a static catalogue that reads its models file once, so edits never show."""

    connector_id = "defect.file-read-once.v1"
    _read: dict[str, list[StaticModel]] | None = None

    async def _read_models_file(self) -> dict[str, list[StaticModel]]:
        if self._read is None:
            self._read = await super()._read_models_file()
        return self._read


class TrustsItsModelsFile(StaticDiscovery):
    """Defect: guards the read of its models file against a missing file only (``OSError``); a file
    that is there but malformed (an edit saved half-way, a list for a mapping) makes sync raise."""

    connector_id = "defect.trusts-its-models-file.v1"

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        names = list(provider_ids) if provider_ids is not None else sorted(self.config.models)
        try:
            configured = {**self.config.models, **await self._read_models_file()}
        except OSError as exc:
            errors = dict.fromkeys(names, f"cannot read models_file: {exc}")
            return sync_result(names, {}, self.context.catalogue(), errors=errors)
        if provider_ids is None:
            names = sorted(configured)
        listed = {p: [m.info(p) for m in configured[p]] for p in names if p in configured}
        errors = {p: "no models configured for this provider" for p in names if p not in configured}
        return sync_result(names, listed, self.context.catalogue(), errors=errors)


@attrs.frozen(kw_only=True)
class _LaxTimeoutConfig(StaticDiscoveryConfig):
    timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(lambda v: v >= timedelta(0), "a duration, 0 or more")
    )


class ZeroTimeoutAccepted(StaticDiscovery):
    """Defect: its timeout's validator checks ``>= 0`` where ``> 0`` was meant: a timeout of 0 is taken,
    and every probe then fails at once."""

    connector_id = "defect.zero-timeout-accepted.v1"
    Config = _LaxTimeoutConfig


class UnprobedIsDown(ListingDiscovery):
    """Defect: with no probe to go by, reports a provider unavailable ("no data, no traffic")."""

    connector_id = "defect.unprobed-is-down.v1"

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        reports = await super().health(provider_id)
        return [
            r if self.history.get(r.provider_id) else attrs.evolve(r, available=False, availability=0.0)
            for r in reports
        ]


class FlooredAvailability(ListingDiscovery):
    """Defect: divides with ``//``, so availability is 0 unless every probe succeeded."""

    connector_id = "defect.floored-availability.v1"

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        reports = await super().health(provider_id)
        floored = []
        for report in reports:
            seen = self.history.get(report.provider_id, [])
            if seen:
                report = attrs.evolve(report, availability=float(sum(r.ok for r in seen) // len(seen)))
            floored.append(report)
        return floored


CONNECTORS: list[type[Any]] = [
    ListingDiscovery,
    NothingNew,
    RaisingProbe,
    RaisingSync,
    ForgetfulHealth,
    CachedCatalogue,
    CachedListing,
    FailureIsEmpty,
    UnboundedProbe,
    FailuresNeverReset,
    FileReadOnce,
    TrustsItsModelsFile,
    ZeroTimeoutAccepted,
    UnprobedIsDown,
    FlooredAvailability,
]
EXPECTED = {
    "defect.nothing-new.v1": "test_sync_reports_new_models",
    "defect.raising-probe.v1": "test_probe_reports_instead_of_raising",
    "defect.raising-sync.v1": "test_sync_reports_provider_errors_instead_of_raising",
    "defect.forgetful-health.v1": "test_health_reflects_probes",
    "defect.cached-catalogue.v1": "test_sync_diffs_against_the_current_catalogue",
    "defect.cached-listing.v1": "test_sync_sees_a_changed_listing",
    "defect.failure-is-empty.v1": "test_failed_listing_deprecates_nothing",
    "defect.unbounded-probe.v1": "test_probe_returns_within_its_timeout_when_the_provider_hangs",
    "defect.failures-never-reset.v1": "test_failure_count_resets_after_a_success",
    "defect.file-read-once.v1": "test_sync_sees_a_changed_listing",
    "defect.trusts-its-models-file.v1": "test_broken_listing_source_is_reported",
    "defect.zero-timeout-accepted.v1": "test_documented_options_hold",
    "defect.unprobed-is-down.v1": "test_health_of_a_provider_never_probed",
    "defect.floored-availability.v1": "test_availability_is_the_share_of_successful_probes",
}
