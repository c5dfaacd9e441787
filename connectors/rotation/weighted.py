"""``meshkit.weighted.v1``: share traffic by weight, or by the quota each model has left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from meshkit.config import check
from meshkit.enums import RotationFeature
from meshkit.interfaces.rotation import RotationPolicy, ThresholdConfig
from meshkit.types import CompletionRequest, ModelSnapshot


def _non_negative(weights: dict[str, float]) -> bool:
    return all(w >= 0 for w in weights.values())


@attrs.frozen(kw_only=True)
class WeightedConfig(ThresholdConfig):
    """Where the weights come from.

    ``weight_by``: ``weight`` (``weights`` from config, else each model's own weight),
    ``headroom`` (requests or tokens left in the quota window) or ``relative-headroom``
    (the fraction of the quota left). ``quota`` picks which quota counts.
    """

    weight_by: Literal["weight", "headroom", "relative-headroom"] = "weight"
    weights: dict[str, float] = attrs.field(
        factory=dict, validator=check(_non_negative, "weights of 0 or more")
    )
    quota: Literal["requests", "tokens"] = "requests"


class Weighted(RotationPolicy):
    """Smooth weighted round-robin (as in nginx): deterministic, and fair at every scale.

    Over any run of selections each model's share follows its weight, and picks are
    spread out rather than bunched (weights 5:1:1 give a a b a c a a, not a a a a a b c).
    A model whose weight is 0 gets nothing, unless every weight is 0: then all share
    equally. In the headroom modes, a model without that quota limit counts as having as
    much headroom as the roomiest limited model (all of it, for relative headroom).
    One pass over the pool per selection.
    """

    connector_id = "meshkit.weighted.v1"
    Config = WeightedConfig
    features = frozenset({RotationFeature.QUOTA_AWARE})
    description = "Traffic shared by weight or by remaining quota; smooth weighted round-robin"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._current: dict[str | None, dict[str, float]] = {}  # pool -> model id -> current weight

    def weight_of(self, candidate: ModelSnapshot) -> float | None:
        """The candidate's weight now; None means "no limit" in the headroom modes."""
        mode = self.config.weight_by
        if mode == "weight":
            return float(self.config.weights.get(candidate.model_id, candidate.weight))
        limit = candidate.limits.get(self.config.quota)
        if limit is None:
            return None
        used = candidate.requests if self.config.quota == "requests" else candidate.tokens
        left = max(0.0, limit - used)
        if mode == "headroom":
            return left
        return left / limit if limit > 0 else 0.0

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = candidates[0].pool_id if candidates else None
        previous = self._current.get(pool, {})
        active: list[ModelSnapshot] = []
        weights: list[float] = []
        unlimited: list[int] = []
        roomiest = 0.0
        for candidate in candidates:
            if not candidate.is_active:
                continue
            weight = self.weight_of(candidate)
            if weight is None:
                unlimited.append(len(active))
                weight = 0.0
            roomiest = max(roomiest, weight)
            active.append(candidate)
            weights.append(weight)
        if not active:
            return None
        if unlimited:
            fill = 1.0 if self.config.weight_by == "relative-headroom" or roomiest == 0 else roomiest
            for i in unlimited:
                weights[i] = fill
        total = sum(weights)
        if total <= 0:
            weights = [1.0] * len(active)
            total = float(len(active))
        current: dict[str, float] = {}
        best = -1
        best_value = 0.0
        for i, candidate in enumerate(active):
            value = previous.get(candidate.model_id, 0.0) + weights[i]
            current[candidate.model_id] = value
            if best < 0 or value > best_value:
                best, best_value = i, value
        chosen = active[best]
        current[chosen.model_id] -= total
        # Only models still in the pool keep a running value, so the map stays pool-sized.
        self._current[pool] = current
        return chosen
