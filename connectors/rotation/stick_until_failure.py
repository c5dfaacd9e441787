"""``meshkit.stick-until-failure.v1``: keep using one model until it is set aside."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig

from ._common import find_active, most_preferred, pool_of


class StickUntilFailure(RotationPolicy[ThresholdConfig]):
    """Sticks to the current model while it is active, then moves to the next one.

    The next one is the highest-priority candidate (lowest ``priority`` number), ties
    broken by the pool's order. Staying put is O(1); only a switch scans the pool. A
    request that fails over serves from another model without moving the current one:
    traffic leaves it only once ``failure_threshold`` (or a quota, budget…) sets it aside.
    """

    connector_id = "meshkit.stick-until-failure.v1"
    reads = frozenset({"model_id", "pool_id", "status", "priority"})
    description = "Stay on one model until it fails past its threshold; the default"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._current: dict[str | None, tuple[str, int]] = {}  # pool -> (model id, index hint)

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = pool_of(candidates)
        current = self._current.get(pool)
        if current is not None:
            found = find_active(candidates, *current)
            if found is not None:
                index, chosen = found
                self._current[pool] = (chosen.model_id, index)
                return chosen
        best = most_preferred(candidates)
        if best is None:
            return None
        index, chosen = best
        self._current[pool] = (chosen.model_id, index)
        return chosen

    def fallback(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        current = self._current.get(pool_of(candidates))
        if current is not None:
            found = find_active(candidates, *current)
            if found is not None:
                return found[1]
        best = most_preferred(candidates)
        return best[1] if best is not None else None
