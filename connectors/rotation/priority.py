"""``meshkit.priority.v1``: the first active model of a configured preference order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from meshkit import CompletionRequest, ModelSnapshot
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE, KeptOrder, by_preference, first_active_in, most_preferred


def _unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)


@attrs.frozen(kw_only=True)
class PriorityConfig(ThresholdConfig):
    """Model ids in order of preference, then provider ids in order of preference."""

    models: list[str] = attrs.field(factory=list, validator=check(_unique, "a list without duplicates"))
    providers: list[str] = attrs.field(factory=list, validator=check(_unique, "a list without duplicates"))


class Priority(RotationPolicy[PriorityConfig]):
    """Always the most preferred active model: listed models first, in the listed order.

    Models not listed come next, ordered by their provider's place in ``providers``;
    anything left follows by the model's own ``priority`` and the pool's order. Unlike
    stick-until-failure, traffic returns to a preferred model as soon as it recovers.
    The order is worked out once per set of candidates: a selection reads one snapshot.
    """

    connector_id = "meshkit.priority.v1"
    reads = frozenset({"model_id", "provider_id", "pool_id", "status", "priority"})
    Config = PriorityConfig
    description = "Most preferred active model from configured model and provider lists"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._model_rank = {model_id: rank for rank, model_id in enumerate(self.config.models)}
        self._provider_rank = {provider: rank for rank, provider in enumerate(self.config.providers)}
        self._first: str | None = self.config.models[0] if self.config.models else None
        self._order = KeptOrder(self._preference)

    def _preference(self, candidates: Sequence[ModelSnapshot]) -> list[int]:
        unlisted_model, unlisted_provider = len(self._model_rank), len(self._provider_rank)
        return by_preference(
            candidates,
            lambda c: (
                self._model_rank.get(c.model_id, unlisted_model),
                self._provider_rank.get(c.provider_id, unlisted_provider),
                c.priority,
            ),
        )

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        order = self._order.of(candidates)
        if order is not None:  # the same candidates as before: the first active one in order
            return first_active_in(candidates, order)
        model_rank, provider_rank, first = self._model_rank, self._provider_rank, self._first
        if not model_rank and not provider_rank:
            found = most_preferred(candidates)
            return found[1] if found is not None else None
        unlisted_model, unlisted_provider = len(model_rank), len(provider_rank)
        best: ModelSnapshot | None = None
        best_model = best_provider = best_priority = 0
        # Compared field by field rather than as tuples: this loop is the whole cost.
        for candidate in candidates:
            if candidate.status is not ACTIVE:
                continue
            model = model_rank.get(candidate.model_id, unlisted_model)
            provider = provider_rank.get(candidate.provider_id, unlisted_provider)
            priority = candidate.priority
            if best is not None and model >= best_model:
                if model > best_model or provider > best_provider:
                    continue
                if provider == best_provider and priority >= best_priority:
                    continue
            best, best_model, best_provider, best_priority = candidate, model, provider, priority
            if candidate.model_id == first:  # nothing can beat the first listed model
                break
        return best
