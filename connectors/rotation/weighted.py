"""``meshkit.weighted.v1``: share traffic by weight, or by the quota each model has left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from meshkit import CompletionRequest, ModelSnapshot, RotationFeature
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE, KeptOrder, pool_of
from ._smooth import SmoothTurns

#: In ``weight`` mode, per set of candidates: their model ids, their configured weights, and the
#: positions of those with a request or token quota.
_Shares = tuple[list[str], list[float], list[int]]


def _quota_used_up(candidate: ModelSnapshot) -> bool:
    """True when the model has no requests or no tokens left in its quota window."""
    limits = candidate.limits
    requests, tokens = limits.get("requests"), limits.get("tokens")
    return (requests is not None and candidate.requests >= requests) or (
        tokens is not None and candidate.tokens >= tokens
    )


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


class Weighted(RotationPolicy[WeightedConfig]):
    """Smooth weighted round-robin (as in nginx): deterministic, and fair at every scale.

    Over any run of selections each model's share follows its weight, and picks are
    spread out rather than bunched (weights 5:1:1 give a a b a c a a, not a a a a a b c).
    A model whose weight is 0 gets nothing, unless every weight is 0: then all share
    equally. As in nginx, a model that drops out keeps its running value and resumes
    its place when it returns. In the headroom modes, a model without that quota limit
    counts as having as much headroom as the roomiest limited model (all of it, for
    relative headroom). In ``weight`` mode a model that has used up its request or token
    quota gets no share while another has some left. A selection adds to every model's running
    value, so it looks at every model; in ``weight`` mode over a pool's own candidates it reads
    the snapshots only of the models with a quota.
    """

    connector_id = "meshkit.weighted.v1"
    Config = WeightedConfig
    features = frozenset({RotationFeature.QUOTA_AWARE})
    reads = frozenset({"model_id", "pool_id", "status", "weight", "limits", "requests", "tokens"})
    description = "Traffic shared by weight or by remaining quota; smooth weighted round-robin"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._turns: dict[str | None, SmoothTurns] = {}  # per pool: the running values
        self._shares = KeptOrder(self._configured_shares)

    def _configured_shares(self, candidates: Sequence[ModelSnapshot]) -> _Shares:
        configured = self.config.weights
        return (
            [c.model_id for c in candidates],
            [configured.get(c.model_id, c.weight) for c in candidates],
            [i for i, c in enumerate(candidates) if "requests" in c.limits or "tokens" in c.limits],
        )

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

    def weighted(self, candidates: Sequence[ModelSnapshot]) -> list[tuple[ModelSnapshot, float]]:
        """The active candidates with their weights, in pool order."""
        if self.config.weight_by == "weight":
            configured = self.config.weights
            chosen = [(c, configured.get(c.model_id, c.weight)) for c in candidates if c.status is ACTIVE]
            # Quota-aware in this mode too: a model that has used up a quota gets no share.
            return [(c, 0.0) if c.limits and _quota_used_up(c) else (c, w) for c, w in chosen]
        pairs: list[tuple[ModelSnapshot, float]] = []
        unlimited: list[int] = []
        roomiest = 0.0
        for candidate in candidates:
            if candidate.status is not ACTIVE:
                continue
            weight = self.weight_of(candidate)
            if weight is None:
                unlimited.append(len(pairs))
                weight = 0.0
            roomiest = max(roomiest, weight)
            pairs.append((candidate, weight))
        if unlimited:
            fill = 1.0 if self.config.weight_by == "relative-headroom" or roomiest == 0 else roomiest
            for i in unlimited:
                pairs[i] = (pairs[i][0], fill)
        return pairs

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = pool_of(candidates)
        if self.config.weight_by == "weight" and getattr(candidates, "all_active", False):
            shares = self._shares.of(candidates)
            if shares is not None:
                # Every candidate is active: only the models with a quota need their snapshot read.
                model_ids, weights, with_quota = shares
                used_up = [i for i in with_quota if _quota_used_up(candidates[i])]
                if used_up:  # the configured list stays as it is: it is kept for the next turn
                    weights = list(weights)
                    for i in used_up:
                        weights[i] = 0.0
                return candidates[self._turn(pool, model_ids, weights)]
        pairs = self.weighted(candidates)
        if not pairs:
            return None
        turn = self._turn(pool, [c.model_id for c, _ in pairs], [w for _, w in pairs])
        return pairs[turn][0]

    def _turn(self, pool: str | None, model_ids: list[str], weights: list[float]) -> int:
        """One round of smooth weighted round-robin over ``model_ids``: the position it picks."""
        turns = self._turns.get(pool)
        if turns is None:
            turns = self._turns[pool] = SmoothTurns()
        return turns.turn(model_ids, weights)
