"""``meshkit.round-robin.v1``: every active model in turn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig

from ._common import RoundRobinCursor, pool_of


class RoundRobin(RotationPolicy[ThresholdConfig]):
    """Hands requests to the active models one after another, in the pool's order.

    The turn follows the model last served, so models leaving or rejoining the pool
    do not make anyone lose or gain a turn. O(1) per selection while the pool is stable.
    """

    connector_id = "meshkit.round-robin.v1"
    reads = frozenset({"model_id", "pool_id", "status"})
    description = "Each active model in turn"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._cursors: dict[str | None, RoundRobinCursor] = {}

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = pool_of(candidates)
        cursor = self._cursors.get(pool)
        if cursor is None:
            cursor = self._cursors[pool] = RoundRobinCursor()
        return cursor.next(candidates)
