"""Health probing: which providers to probe, how, and what a probe's verdict changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..enums import DeactivationReason, ModelStatus, RecoveryTrigger, Severity
from ..interfaces.discovery import Discovery
from ..interfaces.provider import Provider
from ..types import ProbeResult
from .lifecycle import Lifecycle
from .settings import HealthSettings
from .state_sync import StateSync
from .telemetry import Telemetry

__all__ = ["Health"]

_DEFAULT_INTERVAL = timedelta(seconds=60)


class Health:
    """Probes providers (through the discovery connector when there is one) and acts on the result."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        discovery: Discovery | None,
        settings: HealthSettings,
        *,
        lifecycle: Lifecycle,
        sync: StateSync,
        telemetry: Telemetry,
    ) -> None:
        self.providers = providers
        self.discovery = discovery
        self.settings = settings
        self.lifecycle = lifecycle
        self.sync = sync
        self._trace = telemetry.tracer(__name__)

    def interval(self) -> timedelta:
        """How often the health round runs: configured, else the discovery connector's, else a minute."""
        if self.settings.interval is not None:
            return self.settings.interval
        from_connector = getattr(getattr(self.discovery, "config", None), "interval", None)
        if isinstance(from_connector, timedelta) and from_connector > timedelta(0):
            return from_connector
        return _DEFAULT_INTERVAL

    async def probe(self, provider_id: str) -> ProbeResult:
        """Probe one provider now (without acting on the result)."""
        if self.discovery is not None:
            return await self.discovery.probe(provider_id)
        return await self.providers[provider_id].probe()

    async def startup(self) -> None:
        """At start, probe the providers whose models wait in standby, and recover what passes."""
        state = self.lifecycle.state
        for provider_id in sorted(self.providers):
            pstate = state.providers.get(provider_id)
            waiting = any(
                m.provider_id == provider_id and m.status is ModelStatus.STANDBY
                for m in state.models.values()
            )
            if not waiting and not (pstate is not None and pstate.deactivated):
                continue
            result = await self.probe(provider_id)
            await self.apply(provider_id, result, RecoveryTrigger.STARTUP_PROBE)

    async def round(self) -> None:
        """The background job: probe and apply, then write what changed."""
        for provider_id in sorted(self.providers):
            if self.discovery is None and not self._needs_probe(provider_id):
                continue  # without a discovery connector, only providers waiting to recover are probed
            try:
                result = await self.probe(provider_id)
            except Exception as exc:
                self.lifecycle.set_health(provider_id, False, {"error": f"{type(exc).__name__}: {exc}"})
                continue
            await self.apply(provider_id, result, RecoveryTrigger.PROBE_SUCCESS)
        await self.sync.after_change()

    async def apply(self, provider_id: str, result: ProbeResult, trigger: RecoveryTrigger) -> None:
        """Act on a probe: the discovery connector's verdict decides, else the probe's own ``ok``.

        A connector with thresholds (health-monitor) keeps a provider available through a few
        lost probes; when it calls the provider unavailable, the provider is set aside
        (reason ``unavailable``) until it is available again and a probe passes.
        """
        lifecycle = self.lifecycle
        verdict = await self._verdict(provider_id)
        available = result.ok if verdict is None else verdict
        if available and result.ok:
            lifecycle.probe_succeeded(provider_id, trigger)
            return
        failure = {"error": result.error, "status_code": result.status_code}
        lifecycle.set_health(provider_id, available, {} if available else failure)
        if verdict is False:
            lifecycle.deactivate_provider(provider_id, result.error, reason="unavailable")

    async def _verdict(self, provider_id: str) -> bool | None:
        """``available`` from the discovery connector's health report; None when it reports nothing."""
        if self.discovery is None:
            return None
        try:
            reports = await self.discovery.health(provider_id)
        except Exception as exc:  # a connector that cannot say leaves the probe to decide
            self._trace(
                Severity.WARNING,
                f"discovery health report for {provider_id} failed: {type(exc).__name__}: {exc}",
                {"provider_id": provider_id},
            )
            return None
        for report in reports:
            if report.provider_id == provider_id:
                return bool(report.available)
        return None

    def _needs_probe(self, provider_id: str) -> bool:
        state = self.lifecycle.state
        pstate = state.providers.get(provider_id)
        if pstate is not None and pstate.deactivated:
            return True
        return any(
            m.provider_id == provider_id and m.reason is DeactivationReason.ERROR_THRESHOLD
            for m in state.models.values()
        )
