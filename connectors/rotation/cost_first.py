"""``meshkit.cost-first.v1``: the cheapest active model for the request at hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE


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
    ``priority`` number, then to the first in the pool. One pass over the pool.
    """

    connector_id = "meshkit.cost-first.v1"
    Config = CostFirstConfig
    description = "Cheapest active model for the request's estimated tokens"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._unpriced_cost = math.inf if self.config.unpriced == "last" else 0.0

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
