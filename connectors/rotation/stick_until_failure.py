"""``meshkit.stick-until-failure.v1``: keep using one model until it is set aside."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from meshkit.interfaces.rotation import RotationPolicy
from meshkit.types import CompletionRequest, ModelSnapshot


class StickUntilFailure(RotationPolicy):
    """Sticks to the current model while it is active, then moves to the next one.

    The next one is the highest-priority candidate (lowest ``priority`` number), ties
    broken by the pool's order.
    """

    connector_id = "meshkit.stick-until-failure.v1"
    description = "Stay on one model until it fails past its threshold; the default"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._current: dict[str | None, str] = {}

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        active = [c for c in candidates if c.is_active]
        if not active:
            return None
        pool = active[0].pool_id
        current = self._current.get(pool)
        for candidate in active:
            if candidate.model_id == current:
                return candidate
        chosen = min(enumerate(active), key=lambda pair: (pair[1].priority, pair[0]))[1]
        self._current[pool] = chosen.model_id
        return chosen
