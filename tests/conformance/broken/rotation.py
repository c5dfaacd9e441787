"""Rotation policies that each get one thing wrong."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meshkit.enums import DeactivationReason, ModelStatus, RecoveryTrigger
from meshkit.interfaces.rotation import RotationPolicy
from meshkit.types import CompletionRequest, ModelSnapshot


class FirstActive(RotationPolicy):
    """Picks the first active candidate (the correct base of the defects below)."""

    connector_id = "reference.first-active.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        return next((c for c in candidates if c.is_active), None)


class PicksStandby(FirstActive):
    """Defect: trusts the runtime to pass only active models, and returns a standby one."""

    connector_id = "defect.picks-standby.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        return candidates[0] if candidates else None


class RandomPick(FirstActive):
    """Defect: spreads load with its own random generator, so equal inputs differ."""

    connector_id = "defect.random-pick.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._random = random.Random()

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        active = [c for c in candidates if c.is_active]
        return self._random.choice(active) if active else None


class OffByOneThreshold(FirstActive):
    """Defect: deactivates only once failures exceed the threshold, one too late."""

    connector_id = "defect.off-by-one.v1"

    def should_deactivate(self, snapshot: ModelSnapshot, now: datetime) -> DeactivationReason | None:
        if (
            snapshot.status is ModelStatus.ACTIVE
            and snapshot.consecutive_failures > self.config.failure_threshold
        ):
            return DeactivationReason.ERROR_THRESHOLD
        return None


class EarlyRecovery(FirstActive):
    """Defect: brings any standby model back at once, ignoring the cooldown."""

    connector_id = "defect.early-recovery.v1"

    def should_recover(self, snapshot: ModelSnapshot, now: datetime) -> RecoveryTrigger | None:
        return RecoveryTrigger.COOLDOWN_EXPIRED if snapshot.status is ModelStatus.STANDBY else None


class CrashesOnEmptyPool(FirstActive):
    """Defect: assumes a pool is never empty."""

    connector_id = "defect.empty-pool-crash.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        best = candidates[0]
        for c in candidates:
            if c.is_active and c.priority < best.priority:
                best = c
        return best if best.is_active else next((c for c in candidates if c.is_active), None)


CONNECTORS: list[type[Any]] = [
    FirstActive,
    PicksStandby,
    RandomPick,
    OffByOneThreshold,
    EarlyRecovery,
    CrashesOnEmptyPool,
]
EXPECTED = {
    "defect.picks-standby.v1": "test_select_returns_an_active_candidate",
    "defect.random-pick.v1": "test_select_is_deterministic",
    "defect.off-by-one.v1": "test_deactivates_at_the_failure_threshold",
    "defect.early-recovery.v1": "test_recovers_when_the_cooldown_expires",
    "defect.empty-pool-crash.v1": "test_empty_pool_selects_nothing",
}
