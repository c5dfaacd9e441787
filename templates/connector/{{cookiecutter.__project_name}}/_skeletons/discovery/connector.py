"""{{ cookiecutter.description }}.

Connector id: ``{{ cookiecutter.__connector_id }}``.

A discovery connector keeps the router's catalogue in step with what the providers
offer (``sync``) and watches their health (``probe``, ``health``). The runtime
attaches it to the configured providers and the catalogue, schedules the calls and
applies the results. The skeleton asks each attached provider that can list its models
(``list_models()``) and falls back to a static catalogue read from its config for the
others; its probes go through each provider's own ``probe()``, bounded by ``timeout``
on the connector's clock. REPLACE the static catalogue with a call to your registry.
Failures are reported in the results, never raised. Usable from mesh.yaml::

    discovery:
      connector: {{ cookiecutter.__connector_id }}
      config:
        models: {openai: {gpt-4o-mini: {context_window: 128000}}}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import attrs
from meshkit import DiscoveryFeature, HealthReport, ModelInfo, ProbeResult, ProviderFeature, SyncResult
from meshkit.interfaces import Discovery, check, diff_catalogue

T = TypeVar("T")

__all__ = ["{{ cookiecutter.__class_name }}", "{{ cookiecutter.__class_name }}Config"]


@attrs.frozen(kw_only=True)
class CatalogueModel:
    """What the catalogue says about one model."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    deprecated: bool = False


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class_name }}Config:
    """REPLACE: how to reach your registry; the static catalogue is the skeleton's stand-in."""

    #: Provider id → model name → what is known about the model.
    models: dict[str, dict[str, CatalogueModel]] = attrs.field(factory=dict)
    #: Failed probes in a row after which a provider is reported unavailable.
    failure_threshold: int = attrs.field(default=3, validator=check(lambda v: v >= 1, "at least 1"))
    #: A probe or a listing that has not answered by then has failed.
    timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(lambda v: v > timedelta(0), "a duration above 0")
    )


async def _within(clock: Any, seconds: float, call: Callable[[], Awaitable[T]]) -> T | None:
    """``call()``'s result, or None when ``clock.sleep(seconds)`` ends first.

    The race runs on the connector's clock, not ``anyio.fail_after``, so a fake clock
    decides when a hung provider times out.
    """
    outcome: list[T] = []
    async with anyio.create_task_group() as group:

        async def timer() -> None:
            await clock.sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(timer)
        try:
            outcome.append(await call())
        finally:
            group.cancel_scope.cancel()
    return outcome[0] if outcome else None


@attrs.define
class _Health:
    """Probe outcomes of one provider so far."""

    checks: int = 0
    successes: int = 0
    consecutive_failures: int = 0
    last: ProbeResult | None = None


class {{ cookiecutter.__class_name }}(
    {{ cookiecutter.__base_class }}[{{ cookiecutter.__class_name }}Config],
):
    """{{ cookiecutter.description }}."""

    connector_id = "{{ cookiecutter.__connector_id }}"
    Config = {{ cookiecutter.__class_name }}Config
    features = frozenset({DiscoveryFeature.SYNC, DiscoveryFeature.HEALTH})
    description = {{ cookiecutter.__description_literal }}

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._health: dict[str, _Health] = {}

    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        """New, deprecated and changed models of the providers named (default: all known)."""
        attached = self.context.providers
        known = sorted(set(self.config.models) | set(attached))
        names = list(provider_ids) if provider_ids is not None else known
        catalogue = self.context.catalogue()
        new: list[ModelInfo] = []
        deprecated: list[ModelInfo] = []
        changed = []
        errors: dict[str, str] = {}
        for provider_id in names:
            provider = attached.get(provider_id)
            if provider is not None and ProviderFeature.LIST_MODELS in provider.features:
                # What the provider lists now; a failed listing retires nothing.
                try:
                    seconds = self.config.timeout.total_seconds()
                    listed = await _within(self.clock, seconds, provider.list_models)
                except Exception as exc:
                    errors[provider_id] = provider.redact(f"{type(exc).__name__}: {exc}")
                    continue
                if listed is None:
                    errors[provider_id] = f"list_models did not answer within {self.config.timeout}"
                    continue
                found = [attrs.evolve(m, provider_id=provider_id) for m in listed]
                added, gone, different = diff_catalogue(provider_id, found, catalogue)
                new += added
                deprecated += gone
                changed += different
                continue
            # REPLACE: ask your registry for this provider's models; on failure record
            # errors[provider_id] and go on with the others.
            models = self.config.models.get(provider_id)
            if models is None:
                errors[provider_id] = f"{self.connector_id} has no models listed for this provider"
                continue
            found = [
                ModelInfo(
                    id=name,
                    provider_id=provider_id,
                    context_window=known.context_window,
                    max_output_tokens=known.max_output_tokens,
                    deprecated=known.deprecated,
                )
                for name, known in models.items()
            ]
            added, gone, different = diff_catalogue(provider_id, found, catalogue)
            new += added
            deprecated += gone
            changed += different
        return SyncResult(
            new_models=tuple(new),
            deprecated_models=tuple(deprecated),
            changed_models=tuple(changed),
            errors=errors,
        )

    async def probe(self, provider_id: str) -> ProbeResult:
        """Check one provider now, through its own probe; failures are results, not errors."""
        provider = self.context.providers.get(provider_id)
        if provider is None:
            result = ProbeResult(
                provider_id=provider_id,
                ok=False,
                checked_at=self.clock.now(),
                error=f"unknown provider {provider_id!r}",
            )
        else:
            try:
                seconds = self.config.timeout.total_seconds()
                answered = await _within(self.clock, seconds, provider.probe)
                result = (
                    attrs.evolve(answered, provider_id=provider_id)
                    if answered is not None
                    else ProbeResult(
                        provider_id=provider_id,
                        ok=False,
                        checked_at=self.clock.now(),
                        error=f"the probe did not answer within {self.config.timeout}",
                    )
                )
            except Exception as exc:  # a probe that raises is a failed probe
                result = ProbeResult(
                    provider_id=provider_id,
                    ok=False,
                    checked_at=self.clock.now(),
                    # The provider scrubs its own secrets from the message.
                    error=provider.redact(f"{type(exc).__name__}: {exc}"),
                )
        health = self._health.setdefault(provider_id, _Health())
        health.checks += 1
        health.successes += result.ok
        health.consecutive_failures = 0 if result.ok else health.consecutive_failures + 1
        health.last = result
        return result

    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        """The health of one provider, or of every attached provider, from the probes so far."""
        ids = [provider_id] if provider_id is not None else sorted(self.context.providers)
        reports = []
        for pid in ids:
            health = self._health.get(pid, _Health())
            last = health.last
            reports.append(
                HealthReport(
                    provider_id=pid,
                    available=health.consecutive_failures < self.config.failure_threshold,
                    availability=health.successes / health.checks if health.checks else 1.0,
                    consecutive_failures=health.consecutive_failures,
                    latency_ms=last.latency_ms if last else None,
                    last_checked=last.checked_at if last else None,
                    last_error=last.error if last else None,
                )
            )
        return reports
