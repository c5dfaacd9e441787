"""``meshkit.cost-first.v1``: the cheapest active model for the request at hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE, KeptOrder


@attrs.frozen(kw_only=True)
class CostFirstConfig(ThresholdConfig):
    """How to price a request: output tokens assumed when it sets no ``max_tokens``, and
    whether a model without pricing counts as the most expensive (``last``) or as free."""

    default_output_tokens: int = attrs.field(default=256, validator=check(lambda v: v >= 0, "0 or more"))
    unpriced: Literal["last", "free"] = "last"


class CostFirst(RotationPolicy[CostFirstConfig]):
    """Picks the model whose estimated cost for this request is lowest.

    The estimate is the prompt's estimated tokens at the input price plus ``max_tokens``
    (or ``default_output_tokens``) at the output price. Equal costs go to the lower
    ``priority`` number, then to the first in the pool. A selection looks only at the
    models that can be cheapest for some request, worked out once per set of candidates.
    """

    connector_id = "meshkit.cost-first.v1"
    reads = frozenset({"model_id", "pool_id", "status", "pricing", "priority"})
    Config = CostFirstConfig
    description = "Cheapest active model for the request's estimated tokens"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._unpriced_cost = math.inf if self.config.unpriced == "last" else 0.0
        self._front = KeptOrder(self._cheapest_possible)

    def _cheapest_possible(self, candidates: Sequence[ModelSnapshot]) -> list[int]:
        """The positions that can be cheapest for some request, in pool order.

        A model is left out when another costs no more per input token and no more per
        output token and wins a tie (a lower ``priority``, or the same and earlier): it
        costs at least as much for any request, so it can only win once that one is out.
        """
        unpriced = self._unpriced_cost
        points = []
        for index, candidate in enumerate(candidates):
            pricing = candidate.pricing
            if pricing is None:
                prices = (unpriced, unpriced)
            else:
                prices = (pricing.input_per_1k, pricing.output_per_1k)
                if not all(math.isfinite(p) and p >= 0 for p in prices):
                    return list(range(len(candidates)))  # no order to trust: look at them all
            points.append((prices, (candidate.priority, index)))
        points.sort()
        front: list[tuple[tuple[float, float], tuple[int, int]]] = []
        for (inp, out), tie in points:
            # Sorted by input price, so every earlier point costs no more per input token.
            if not any(o <= out and t < tie for (_, o), t in front):
                front.append(((inp, out), tie))
        return sorted(index for _, (_, index) in front)

    def estimated_cost(self, candidate: ModelSnapshot, prompt_tokens: int, output_tokens: int) -> float:
        """What the request would cost on ``candidate``."""
        pricing = candidate.pricing
        if pricing is None:
            return self._unpriced_cost
        return (prompt_tokens * pricing.input_per_1k + output_tokens * pricing.output_per_1k) / 1000.0

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        prompt_tokens = request.estimated_prompt_tokens()
        output_tokens = (
            request.max_tokens if request.max_tokens is not None else self.config.default_output_tokens
        )
        unpriced = self._unpriced_cost
        front = self._front.of(candidates)
        if front is not None:
            found = [candidates[i] for i in front]
            if all(c.status is ACTIVE for c in found):
                candidates = found  # whoever is cheapest for this request is among them
        best: ModelSnapshot | None = None
        best_cost = 0.0
        best_priority = 0
        for candidate in candidates:
            if candidate.status is not ACTIVE:
                continue
            pricing = candidate.pricing
            if pricing is None:
                cost = unpriced
            else:
                cost = (prompt_tokens * pricing.input_per_1k + output_tokens * pricing.output_per_1k) / 1000.0
            if best is None or cost < best_cost or (cost == best_cost and candidate.priority < best_priority):
                best, best_cost, best_priority = candidate, cost, candidate.priority
        return best
