"""``meshkit.registry-sync.v1``: the catalogue kept in step with what providers list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import attrs

from meshkit import DiscoveryFeature, HealthReport, ModelInfo, ProbeResult, ProviderFeature, SyncResult
from meshkit.interfaces import Discovery, check, format_duration

from ._calls import CallTimedOut, call_with_timeout, describe_failure
from ._results import failed_probe, sync_result, unknown_provider_probe


def _positive_duration(value: timedelta) -> bool:
    return value > timedelta(0)


@attrs.frozen(kw_only=True)
class RegistrySyncConfig:
    """``timeout`` for each provider call; at most ``concurrency`` providers asked at once."""

    timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(_positive_duration, "a duration above 0")
    )
    concurrency: int = attrs.field(default=8, validator=check(lambda v: v >= 1, "at least 1"))


#: The configuration of a registry sync: RegistrySyncConfig or a subclass of it.
SyncConfigT = TypeVar("SyncConfigT", bound=RegistrySyncConfig)


class RegistrySync(Discovery[SyncConfigT]):
    """Asks every provider for its model list, concurrently, and diffs it with the catalogue.

    A provider that fails or does not answer within ``timeout`` is reported in
    ``SyncResult.errors`` and none of its models is called deprecated; a provider that
    cannot list models is reported in ``SyncResult.skipped``. ``probe`` runs the
    provider's probe within ``timeout``; ``health`` reports each provider's last probe.
    """

    connector_id = "meshkit.registry-sync.v1"
    Config = RegistrySyncConfig
    features = frozenset({DiscoveryFeature.SYNC, DiscoveryFeature.HEALTH})
    description = "Model lists fetched from the providers and diffed with the catalogue"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._last: dict[str, ProbeResult] = {}
        self._failures: dict[str, int] = {}  # consecutive failed probes

    @property
    def timeout_seconds(self) -> float:
        """The per-call timeout in seconds."""
        return float(self.config.timeout.total_seconds())

    @property
    def timeout_text(self) -> str:
        """The per-call timeout as written in config, for messages."""
        return format_duration(self.config.timeout)

    def provider_ids(self, provider_ids: Sequence[str] | None) -> list[str]:
        """The ids named (each once, in order), or every attached provider's id."""
        if provider_ids is None:
            return sorted(self.context.providers)
        return list(dict.fromkeys(provider_ids))

    # --- sync ---------------------------------------------------------------------

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        providers = self.context.providers
        ids = self.provider_ids(provider_ids)
        listed: dict[str, list[ModelInfo]] = {}
        errors: dict[str, str] = {}
        skipped: list[str] = []
        limiter = anyio.CapacityLimiter(self.config.concurrency)

        async def fetch(provider_id: str) -> None:
            provider = providers[provider_id]
            async with limiter:
                try:
                    listed[provider_id] = await call_with_timeout(
                        self.clock, self.timeout_seconds, provider.list_models
                    )
                except CallTimedOut:
                    errors[provider_id] = (
                        f"list_models timed out after {format_duration(self.config.timeout)}"
                    )
                except Exception as exc:  # reported, never raised
                    errors[provider_id] = describe_failure(provider, exc)

        async with anyio.create_task_group() as group:
            for provider_id in ids:
                provider = providers.get(provider_id)
                if provider is None:
                    errors[provider_id] = f"unknown provider {provider_id!r}"
                elif ProviderFeature.LIST_MODELS not in provider.features:
                    skipped.append(provider_id)
                else:
                    group.start_soon(fetch, provider_id)

        return sync_result(ids, listed, self.context.catalogue(), errors=errors, skipped=skipped)

    # --- health ---------------------------------------------------------------------

    async def probe(self, provider_id: str) -> ProbeResult:
        provider = self.context.providers.get(provider_id)
        started = self.clock.monotonic()
        if provider is None:
            result = unknown_provider_probe(provider_id, self.clock.now())
        else:
            try:
                result = await call_with_timeout(self.clock, self.timeout_seconds, provider.probe)
            except CallTimedOut:
                error = f"probe timed out after {self.timeout_text}"
                latency_ms = self.timeout_seconds * 1000.0
                result = failed_probe(provider_id, self.clock.now(), error, latency_ms=latency_ms)
            except Exception as exc:  # probes report, they do not raise
                result = failed_probe(provider_id, self.clock.now(), describe_failure(provider, exc))
            if result.latency_ms is None:
                result = attrs.evolve(result, latency_ms=(self.clock.monotonic() - started) * 1000.0)
            result = attrs.evolve(result, provider_id=provider_id)
        self._record(result)
        return result

    def _record(self, result: ProbeResult) -> None:
        """Remember a probe's outcome (subclasses keep more history)."""
        self._last[result.provider_id] = result
        self._failures[result.provider_id] = 0 if result.ok else self._failures.get(result.provider_id, 0) + 1

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        ids = (
            [provider_id]
            if provider_id is not None
            else sorted(set(self.context.providers) | set(self._last))
        )
        return [self._report(pid) for pid in ids]

    def _report(self, provider_id: str) -> HealthReport:
        last = self._last.get(provider_id)
        if last is None:
            return _unprobed(provider_id, known=provider_id in self.context.providers)
        return HealthReport(
            provider_id=provider_id,
            available=last.ok,
            availability=1.0 if last.ok else 0.0,
            consecutive_failures=self._failures.get(provider_id, 0),
            latency_ms=last.latency_ms,
            last_checked=last.checked_at,
            last_error=last.error,
        )


def _unprobed(provider_id: str, *, known: bool) -> HealthReport:
    """A provider nobody has probed yet: presumed available if it exists at all."""
    if known:
        return HealthReport(provider_id=provider_id, available=True, availability=1.0)
    return HealthReport(
        provider_id=provider_id,
        available=False,
        availability=0.0,
        last_error=f"unknown provider {provider_id!r}",
    )
