"""The parts of a started mesh, and how they are wired to each other.

Each part gets the collaborators it works with — the lifecycle, the targets, state sync,
telemetry, the clock — and none reaches back into the mesh.
"""

from __future__ import annotations

import attrs

from ..clock import Clock
from ..enums import DiscoveryFeature, SyncPolicy
from .assembly import Assembly
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .catalogue_sync import CatalogueSync
from .health import Health
from .lifecycle import Lifecycle
from .manual import ManualControl
from .plan import Plan
from .pool import Pool
from .router import Router
from .scheduler import Scheduler
from .settings import MeshSettings
from .state import MeshState
from .state_sync import RETRY_TICK, StateSync
from .status import StatusReport
from .targets import Targets
from .telemetry import Telemetry

__all__ = ["Running"]


@attrs.define
class Running:
    """What a started mesh hands its work to."""

    lifecycle: Lifecycle
    targets: Targets
    router: Router
    sync: StateSync
    health: Health
    catalogue: CatalogueSync
    status: StatusReport
    telemetry: Telemetry
    manual: ManualControl

    async def check(self) -> None:
        """Apply time-based rules to every model now, and write what changed."""
        self.lifecycle.evaluate_all()
        await self.sync.after_change()

    def report(self) -> None:
        """Hand the status report to every observability connector."""
        self.telemetry.report(self.status.build())

    async def schedule(self, scheduler: Scheduler, settings: MeshSettings) -> None:
        """Start the background jobs: checks, state sync and its retries, health, reports, catalogue sync."""
        every = scheduler.every
        await every("lifecycle", settings.routing.check_interval.total_seconds(), self.check)
        if settings.storage.sync_policy is SyncPolicy.PERIODIC:
            await every("state-sync", settings.storage.sync_interval.total_seconds(), self.sync.exchange)
        if self.sync.keeps_state:
            await every("state-retry", RETRY_TICK, self.sync.retry)
        await every("health", self.health.interval().total_seconds(), self.health.round)
        report_every = settings.observability.report_interval.total_seconds()
        if report_every > 0:
            await every("report", report_every, self._report_job)
        discovery, interval = self.catalogue.discovery, settings.discovery.sync.interval
        if (
            discovery is not None
            and interval is not None
            and (not discovery.features or DiscoveryFeature.SYNC in discovery.features)
        ):
            await every("discovery-sync", interval.total_seconds(), self._sync_job)

    async def _report_job(self) -> None:
        self.report()

    async def _sync_job(self) -> None:
        await self.catalogue.run()

    @classmethod
    def wire(
        cls,
        plan: Plan,
        *,
        entries: dict[str, ModelEntry],
        tree: CapabilityTree,
        state: MeshState,
        connectors: Assembly,
        telemetry: Telemetry,
        clock: Clock,
    ) -> Running:
        """The parts over started ``connectors``; nothing is read from storage yet."""
        settings = plan.settings
        lifecycle = Lifecycle(
            state=state,
            entries=entries,
            provider_budgets={pid: ps.budget for pid, ps in settings.providers.items()},
            clock=clock,
            telemetry=telemetry,
            error_window=settings.routing.error_window,
            default_policy=connectors.policy(plan.default_rotation),
        )
        for entry in entries.values():
            lifecycle.ensure(entry)
        pools = {
            pool_id: Pool.configured_from(
                pool_id, pool_settings, connectors.policy(plan.rotations[pool_id]), entries, tree
            )
            for pool_id, pool_settings in settings.pools.items()
        }
        targets = Targets(
            pools,
            entries=entries,
            providers=connectors.providers,
            tree=tree,
            lifecycle=lifecycle,
            telemetry=telemetry,
            retry=settings.routing.retry,
            default_policy=lambda: connectors.policy(plan.default_rotation),
        )
        assert connectors.storage is not None  # started connectors always include storage
        sync = StateSync(
            connectors.storage,
            settings.storage,
            state=state,
            lifecycle=lifecycle,
            clock=clock,
            telemetry=telemetry,
        )
        providers = connectors.providers
        health = Health(
            providers,
            connectors.discovery,
            settings.discovery.health,
            lifecycle=lifecycle,
            sync=sync,
            telemetry=telemetry,
        )
        catalogue = CatalogueSync(
            entries,
            providers,
            connectors.discovery,
            settings.discovery.sync,
            tree=tree,
            lifecycle=lifecycle,
            targets=targets,
            sync=sync,
            telemetry=telemetry,
        )
        router = Router(lifecycle=lifecycle, providers=providers, telemetry=telemetry, sync=sync, clock=clock)
        status = StatusReport(lifecycle, targets, providers, storage=sync.status)
        manual = ManualControl(
            lifecycle=lifecycle, targets=targets, providers=providers, health=health, sync=sync
        )
        return cls(lifecycle, targets, router, sync, health, catalogue, status, telemetry, manual)
