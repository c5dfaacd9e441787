"""Rotation policies that each get one thing wrong."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meshkit.enums import DeactivationReason, ModelStatus, RecoveryTrigger, RotationFeature
from meshkit.interfaces.rotation import RotationPolicy
from meshkit.testing import IN_TURN, MOST_PREFERRED, STICKY
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


class HashedSessions(FirstActive):
    """Defect: pins a session to ``hash(session_id) % n``, which differs from process to process."""

    connector_id = "defect.hashed-sessions.v1"
    features = frozenset({RotationFeature.SESSION_AFFINITY})

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        active = [c for c in candidates if c.is_active]
        if not active:
            return None
        if request.session_id is None:
            return active[0]
        return active[hash(request.session_id) % len(active)]


class SortsInPlace(FirstActive):
    """Defect: sorts the runtime's candidate list by priority in place instead of a copy."""

    connector_id = "defect.sorts-in-place.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        if isinstance(candidates, list):
            candidates.sort(key=lambda c: c.priority)
        return super().select(candidates, request, now)


class FillsInLimits(FirstActive):
    """Defect: fills in missing limits on the snapshot it was given, as "unlimited"."""

    connector_id = "defect.fills-in-limits.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        for candidate in candidates:
            if isinstance(candidate.limits, dict):
                candidate.limits.setdefault("requests", float("inf"))
        return super().select(candidates, request, now)


class QuotaBlind(FirstActive):
    """Defect: declares QUOTA_AWARE (it was planned) but still picks the first active model."""

    connector_id = "defect.quota-blind.v1"
    features = frozenset({RotationFeature.QUOTA_AWARE})


class ForgetfulSessions(FirstActive):
    """Defect: declares SESSION_AFFINITY, but round-robins every request, sessions or not."""

    connector_id = "defect.forgetful-sessions.v1"
    features = frozenset({RotationFeature.SESSION_AFFINITY})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = 0

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        active = [c for c in candidates if c.is_active]
        if not active:
            return None
        self._turn += 1
        return active[self._turn % len(active)]


class TurnByPosition(FirstActive):
    """Defect: round-robin by position (a counter modulo the pool's size, then the next active model),
    so a model resting or leaving makes its neighbour serve twice in a row."""

    connector_id = "defect.turn-by-position.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = 0

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        if not any(c.is_active for c in candidates):
            return None
        start, self._turn = self._turn % len(candidates), self._turn + 1
        n = len(candidates)
        return next(candidates[(start + i) % n] for i in range(n) if candidates[(start + i) % n].is_active)


class StickyByPosition(FirstActive):
    """Defect: sticks to where its model stood in the pool, not to the model, so a reordered pool moves it."""

    connector_id = "defect.sticky-by-position.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: int | None = None

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        index = self._index
        if index is not None and index < len(candidates) and candidates[index].is_active:
            return candidates[index]
        ranked = sorted((c.priority, i) for i, c in enumerate(candidates) if c.is_active)
        if not ranked:
            return None
        self._index = ranked[0][1]
        return candidates[self._index]


class LastOnTies(FirstActive):
    """Defect: the most preferred model by ``<=``, so among equal priorities the last one wins."""

    connector_id = "defect.last-on-ties.v1"

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        best: ModelSnapshot | None = None
        for candidate in candidates:
            if candidate.is_active and (best is None or candidate.priority <= best.priority):
                best = candidate
        return best


class ReadsUndeclared(FirstActive):
    """Defect: declares it reads only ids and status, yet passes over models by ``error_rate``.

    The router keeps its snapshots while their status stands, so the error rate it sees is stale.
    """

    connector_id = "defect.reads-undeclared.v1"
    reads = frozenset({"model_id", "pool_id", "status"})

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        active = [c for c in candidates if c.is_active]
        healthy = [c for c in active if c.error_rate < 0.5]
        return (healthy or active or [None])[0]


CONNECTORS: list[type[Any]] = [
    FirstActive,
    PicksStandby,
    RandomPick,
    OffByOneThreshold,
    EarlyRecovery,
    CrashesOnEmptyPool,
    HashedSessions,
    SortsInPlace,
    FillsInLimits,
    QuotaBlind,
    ForgetfulSessions,
    TurnByPosition,
    StickyByPosition,
    LastOnTies,
    ReadsUndeclared,
]
EXPECTED = {
    "defect.picks-standby.v1": "test_select_returns_an_active_candidate",
    "defect.random-pick.v1": "test_select_is_deterministic",
    "defect.off-by-one.v1": "test_deactivates_at_the_failure_threshold",
    "defect.early-recovery.v1": "test_recovers_when_the_cooldown_expires",
    "defect.empty-pool-crash.v1": "test_empty_pool_selects_nothing",
    "defect.hashed-sessions.v1": "test_select_is_deterministic_across_processes",
    "defect.sorts-in-place.v1": "test_policy_never_mutates_its_inputs",
    "defect.fills-in-limits.v1": "test_policy_never_mutates_its_inputs",
    "defect.quota-blind.v1": "test_quota_aware_policy_avoids_exhausted_models",
    "defect.forgetful-sessions.v1": "test_session_affinity_keeps_a_session_on_its_model",
    "defect.turn-by-position.v1": "test_select_follows_its_declared_rule",
    "defect.sticky-by-position.v1": "test_select_follows_its_declared_rule",
    "defect.last-on-ties.v1": "test_select_follows_its_declared_rule",
    "defect.reads-undeclared.v1": "test_select_reads_only_what_it_declares",
}
#: The rule each policy above says it follows (its spec's ``rule``).
RULES = {
    TurnByPosition.connector_id: IN_TURN,
    StickyByPosition.connector_id: STICKY,
    LastOnTies.connector_id: MOST_PREFERRED,
}
