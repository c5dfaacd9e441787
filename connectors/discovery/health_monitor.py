"""``meshkit.health-monitor.v1``: providers probed in rounds, judged over a rolling window."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import anyio
import attrs
from anyio.abc import TaskStatus

from meshkit import DiscoveryFeature, HealthReport, ProbeResult
from meshkit.interfaces import check

from .registry_sync import RegistrySync, RegistrySyncConfig, _positive_duration, _unprobed


@attrs.frozen(kw_only=True)
class HealthMonitorConfig(RegistrySyncConfig):
    """Probe every ``interval`` (when ``run`` drives the rounds), each probe within
    ``timeout``; availability over the last ``window`` probes; unavailable after
    ``failure_threshold`` failures in a row, available again after ``recovery_threshold``
    successes in a row."""

    timeout: timedelta = attrs.field(
        default=timedelta(seconds=5), validator=check(_positive_duration, "a duration above 0")
    )
    interval: timedelta = attrs.field(
        default=timedelta(seconds=60), validator=check(_positive_duration, "a duration above 0")
    )
    window: int = attrs.field(default=20, validator=check(lambda v: v >= 1, "at least 1"))
    failure_threshold: int = attrs.field(default=3, validator=check(lambda v: v >= 1, "at least 1"))
    recovery_threshold: int = attrs.field(default=1, validator=check(lambda v: v >= 1, "at least 1"))


@attrs.define
class _Track:
    """What the monitor remembers of one provider."""

    outcomes: deque[ProbeResult]
    available: bool = True
    failures: int = 0  # in a row
    successes: int = 0  # in a row


class HealthMonitor(RegistrySync[HealthMonitorConfig]):
    """Probes providers and keeps a rolling verdict on each.

    ``probe_all`` runs one round (every provider concurrently, each within ``timeout``)
    and returns the reports; the runtime schedules rounds, or ``run`` loops over the
    injected clock every ``interval`` and calls ``on_change`` when a provider's
    availability flips. The availability score is the share of successful probes among
    the last ``window``; ``available`` flips off after ``failure_threshold`` failures in
    a row, so one lost probe does not take a provider out. Catalogue sync works as in
    ``meshkit.registry-sync.v1``.
    """

    connector_id = "meshkit.health-monitor.v1"
    Config = HealthMonitorConfig
    features = frozenset({DiscoveryFeature.SYNC, DiscoveryFeature.HEALTH})
    description = "Periodic provider probes; rolling availability and failure threshold"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._tracks: dict[str, _Track] = {}

    def _record(self, result: ProbeResult) -> None:
        super()._record(result)
        cfg = self.config
        track = self._tracks.get(result.provider_id)
        if track is None:
            track = self._tracks[result.provider_id] = _Track(outcomes=deque(maxlen=cfg.window))
        track.outcomes.append(result)
        if result.ok:
            track.failures = 0
            track.successes += 1
            if not track.available and track.successes >= cfg.recovery_threshold:
                track.available = True
        else:
            track.successes = 0
            track.failures += 1
            if track.available and track.failures >= cfg.failure_threshold:
                track.available = False

    def _report(self, provider_id: str) -> HealthReport:
        track = self._tracks.get(provider_id)
        if track is None:
            return _unprobed(provider_id, known=provider_id in self.context.providers)
        outcomes = track.outcomes
        last = outcomes[-1]
        ok_latencies = [r.latency_ms for r in outcomes if r.ok and r.latency_ms is not None]
        return HealthReport(
            provider_id=provider_id,
            available=track.available,
            availability=sum(1 for r in outcomes if r.ok) / len(outcomes),
            consecutive_failures=track.failures,
            latency_ms=sum(ok_latencies) / len(ok_latencies) if ok_latencies else None,
            last_checked=last.checked_at,
            last_error=next((r.error for r in reversed(outcomes) if not r.ok), None),
        )

    async def probe_all(self, provider_ids: Sequence[str] | None = None) -> list[HealthReport]:
        """One round: probe every provider (or those named) concurrently; their reports."""
        ids = (
            list(dict.fromkeys(provider_ids)) if provider_ids is not None else sorted(self.context.providers)
        )
        limiter = anyio.CapacityLimiter(self.config.concurrency)

        async def probe_one(provider_id: str) -> None:
            async with limiter:
                await self.probe(provider_id)

        async with anyio.create_task_group() as group:
            for provider_id in ids:
                group.start_soon(probe_one, provider_id)
        return [self._report(pid) for pid in ids]

    async def run(
        self,
        *,
        on_change: Callable[[HealthReport], object] | None = None,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Probe every ``interval`` until cancelled; ``on_change`` hears availability flips.

        Reports ready to ``task_status`` after the first round, so ``await
        group.start(monitor.run)`` returns with fresh health.
        """
        previous: dict[str, bool] = {}
        started = False
        while True:
            for report in await self.probe_all():
                was = previous.get(report.provider_id, True)
                previous[report.provider_id] = report.available
                if was != report.available and on_change is not None:
                    on_change(report)
            if not started:
                started = True
                task_status.started()
            await self.clock.sleep(self.config.interval.total_seconds())
