"""``meshkit.latency-first.v1``: the fastest active model, measuring the others now and then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE, pool_of

_NEVER = datetime.min.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class LatencyFirstConfig(ThresholdConfig):
    """Exploration: every ``explore_every``-th selection goes to the model measured least
    recently (0: never); an exploration still unanswered after ``exploration_timeout`` may
    be sent again."""

    explore_every: int = attrs.field(default=20, validator=check(lambda v: v >= 0, "0 or more"))
    exploration_timeout: timedelta = timedelta(seconds=30)


def last_measured(candidate: ModelSnapshot) -> datetime | None:
    """When the model last answered, successfully or not."""
    success, failure = candidate.last_success_at, candidate.last_failure_at
    if success is None:
        return failure
    if failure is None:
        return success
    return max(success, failure)


def needs_measuring(candidate: ModelSnapshot) -> bool:
    """True for a model never measured, or not measured since it was last activated."""
    if candidate.latency_ewma_ms is None:
        return True
    if candidate.activated_at is None:
        return False
    measured = last_measured(candidate)
    return measured is None or measured < candidate.activated_at


class LatencyFirst(RotationPolicy[LatencyFirstConfig]):
    """Picks the active model with the lowest latency EWMA.

    A model with no measurement, or none since it recovered, is sent one request first
    so that it gets measured; while that request is out (up to ``exploration_timeout``)
    it is not sent another. Every ``explore_every``-th selection goes to the model whose
    last answer is oldest, so a model that was slow once is not shunned forever.
    Deterministic, one pass over the pool per selection.
    """

    connector_id = "meshkit.latency-first.v1"
    reads = frozenset(
        {
            "model_id",
            "pool_id",
            "status",
            "priority",
            "latency_ewma_ms",
            "activated_at",
            "last_success_at",
            "last_failure_at",
        }
    )
    Config = LatencyFirstConfig
    description = "Lowest latency EWMA, with deterministic exploration"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._selections: dict[str | None, int] = {}
        self._exploring: dict[str, datetime] = {}  # model id -> when its measuring request left

    def _in_flight(self, candidate: ModelSnapshot, now: datetime) -> bool:
        sent = self._exploring.get(candidate.model_id)
        if sent is None:
            return False
        measured = last_measured(candidate)
        if (measured is not None and measured >= sent) or now - sent >= self.config.exploration_timeout:
            del self._exploring[candidate.model_id]
            return False
        return True

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = pool_of(candidates)
        count = self._selections.get(pool, 0) + 1
        self._selections[pool] = count
        every = self.config.explore_every
        explore_turn = every > 0 and count % every == 0

        first: ModelSnapshot | None = None
        fastest: ModelSnapshot | None = None
        fastest_ms = fastest_priority = 0.0
        stalest: ModelSnapshot | None = None
        stalest_at = _NEVER
        stalest_priority = 0
        for candidate in candidates:
            if candidate.status is not ACTIVE:
                continue
            if first is None:
                first = candidate
            latency = candidate.latency_ewma_ms
            if latency is None or (candidate.activated_at is not None and needs_measuring(candidate)):
                if not self._in_flight(candidate, now):
                    self._exploring[candidate.model_id] = now
                    return candidate
                continue
            priority = candidate.priority
            if (
                fastest is None
                or latency < fastest_ms
                or (latency == fastest_ms and priority < fastest_priority)
            ):
                fastest, fastest_ms, fastest_priority = candidate, latency, priority
            if explore_turn:
                # A model that never answered counts as the stalest of all.
                measured = last_measured(candidate) or _NEVER
                if (
                    stalest is None
                    or measured < stalest_at
                    or (measured == stalest_at and priority < stalest_priority)
                ):
                    stalest, stalest_at, stalest_priority = candidate, measured, priority
        if explore_turn and stalest is not None:
            return stalest
        return fastest if fastest is not None else first
