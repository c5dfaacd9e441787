"""``ManualControl``: what an operator changes by hand, each change written as the sync policy says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..enums import DeactivationReason, RecoveryTrigger
from ..errors import UnknownTargetError
from ..interfaces.provider import Provider
from ..types import ProbeResult
from .health import Health
from .lifecycle import Lifecycle
from .state_sync import StateSync
from .targets import Targets

__all__ = ["ManualControl"]


class ManualControl:
    """A model set aside or brought back, a provider brought back, a probe run now.

    Each names its model (through the ``targets``) or provider (one of ``providers``) or raises
    UnknownTargetError, changes the ``lifecycle``, and has ``sync`` write what changed.
    """

    def __init__(
        self,
        *,
        lifecycle: Lifecycle,
        targets: Targets,
        providers: Mapping[str, Provider],
        health: Health,
        sync: StateSync,
    ) -> None:
        self.lifecycle = lifecycle
        self.targets = targets
        self.providers = providers
        self.health = health
        self.sync = sync

    async def deactivate(
        self,
        model: str,
        reason: DeactivationReason,
        *,
        cooldown: float | timedelta | None,
        detail: str | None,
    ) -> bool:
        """Put a model in standby; False when it already was."""
        self.targets.model(model)
        wait = timedelta(seconds=cooldown) if isinstance(cooldown, int | float) else cooldown
        changed = self.lifecycle.deactivate(model, DeactivationReason(reason), cooldown=wait, detail=detail)
        await self.sync.after_change()
        return changed

    async def activate(self, model: str) -> bool:
        """Bring a model back (trigger MANUAL); False when it was active."""
        self.targets.model(model)
        changed = self.lifecycle.activate(model, RecoveryTrigger.MANUAL)
        await self.sync.after_change()
        return changed

    async def activate_provider(self, provider: str) -> bool:
        """Bring a provider that was set aside back (trigger MANUAL)."""
        self._provider(provider)
        changed = self.lifecycle.recover_provider(provider, RecoveryTrigger.MANUAL)
        await self.sync.after_change()
        return changed

    async def probe(self, provider: str, trigger: RecoveryTrigger) -> ProbeResult:
        """Probe a provider now and apply the result (recovery on success)."""
        self._provider(provider)
        result = await self.health.probe(provider)
        await self.health.apply(provider, result, trigger)
        await self.sync.after_change()
        return result

    def _provider(self, provider: str) -> None:
        if provider not in self.providers:
            raise UnknownTargetError(f"no provider named {provider!r}")
