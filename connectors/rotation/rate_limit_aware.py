"""``meshkit.rate-limit-aware.v1``: move off a model before it hits its per-minute limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from meshkit import CompletionRequest, ModelSnapshot, RotationFeature
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import ACTIVE, KeptOrder, by_preference

#: Keys of ``ModelSnapshot.limits`` this policy reads.
REQUESTS_PER_MINUTE = "requests_per_minute"
TOKENS_PER_MINUTE = "tokens_per_minute"


def _fraction(v: float) -> bool:
    return 0.0 < v <= 1.0


def _positive(v: int) -> bool:
    return v >= 1


@attrs.frozen(kw_only=True)
class RateLimits:
    """Per-minute caps of one model."""

    requests_per_minute: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))
    tokens_per_minute: int | None = attrs.field(default=None, validator=check(_positive, "at least 1"))


@attrs.frozen(kw_only=True)
class RateLimitAwareConfig(ThresholdConfig):
    """Switch away once a request would take a model past ``request_threshold`` of its
    requests per minute or ``token_threshold`` of its tokens per minute. ``limits`` sets
    or overrides the per-minute caps by model id (otherwise the model's own limits)."""

    request_threshold: float = attrs.field(default=0.9, validator=check(_fraction, "a fraction in (0, 1]"))
    token_threshold: float = attrs.field(default=0.9, validator=check(_fraction, "a fraction in (0, 1]"))
    limits: dict[str, RateLimits] = attrs.field(factory=dict)
    default_output_tokens: int = attrs.field(default=256, validator=check(lambda v: v >= 0, "0 or more"))


class RateLimitAware(RotationPolicy[RateLimitAwareConfig]):
    """Uses the most preferred model (lowest ``priority``, then pool order) that has room.

    A model has room when this request would keep it within the thresholds of its
    per-minute caps, counting the request's estimated prompt tokens plus ``max_tokens``.
    A model that is near its limit is only passed over, never deactivated: it gets
    traffic again as its last minute empties. When none has room, the least loaded
    model is used. A selection looks at the models in order of preference (worked out
    once per set of candidates) until one has room, and at all of them only when none has.
    """

    connector_id = "meshkit.rate-limit-aware.v1"
    Config = RateLimitAwareConfig
    features = frozenset({RotationFeature.QUOTA_AWARE})
    reads = frozenset(
        {"model_id", "pool_id", "status", "priority", "limits", "requests_last_minute", "tokens_last_minute"}
    )
    description = "Most preferred model below a fraction of its per-minute limits"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._order = KeptOrder(lambda candidates: by_preference(candidates, lambda c: c.priority))

    def load(self, candidate: ModelSnapshot, request_tokens: int) -> tuple[float, float]:
        """The share of its per-minute request and token caps the model would reach."""
        override = self.config.limits.get(candidate.model_id)
        rpm: float | None = override.requests_per_minute if override is not None else None
        tpm: float | None = override.tokens_per_minute if override is not None else None
        if rpm is None:
            rpm = candidate.limits.get(REQUESTS_PER_MINUTE)
        if tpm is None:
            tpm = candidate.limits.get(TOKENS_PER_MINUTE)
        requests = (candidate.requests_last_minute + 1) / rpm if rpm else 0.0
        tokens = (candidate.tokens_last_minute + request_tokens) / tpm if tpm else 0.0
        return requests, tokens

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        output = request.max_tokens if request.max_tokens is not None else self.config.default_output_tokens
        request_tokens = request.estimated_prompt_tokens() + output
        request_threshold = self.config.request_threshold
        token_threshold = self.config.token_threshold
        overrides = self.config.limits
        order = self._order.of(candidates)
        if order is not None:
            # In order of preference, the first active model with room is the answer; only
            # when none has room does the least loaded one take a look at every model.
            for index in order:
                candidate = candidates[index]
                if candidate.status is not ACTIVE:
                    continue
                if not (overrides or candidate.limits):
                    return candidate
                requests, tokens = self.load(candidate, request_tokens)
                if requests <= request_threshold and tokens <= token_threshold:
                    return candidate
        preferred: ModelSnapshot | None = None
        preferred_priority = 0
        least_loaded: ModelSnapshot | None = None
        least_pressure = least_priority = 0.0
        for candidate in candidates:
            if candidate.status is not ACTIVE:
                continue
            priority = candidate.priority
            if preferred is not None and priority >= preferred_priority:
                continue  # cannot beat the model already found with room
            if overrides or candidate.limits:
                requests, tokens = self.load(candidate, request_tokens)
            else:
                requests = tokens = 0.0
            if requests <= request_threshold and tokens <= token_threshold:
                preferred, preferred_priority = candidate, priority
            elif preferred is None:
                # How far past its thresholds, so that the least pressed model wins.
                pressure = max(requests / request_threshold, tokens / token_threshold)
                if (
                    least_loaded is None
                    or pressure < least_pressure
                    or (pressure == least_pressure and priority < least_priority)
                ):
                    least_loaded, least_pressure, least_priority = candidate, pressure, priority
        return preferred if preferred is not None else least_loaded
