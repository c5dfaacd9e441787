"""The immutable view of a model's state that rotation policies decide on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from ..enums import DeactivationReason, ModelStatus
from .catalogue import ModelPricing

__all__ = ["ModelSnapshot"]


@attrs.frozen(kw_only=True)
class ModelSnapshot:
    """An immutable view of one model's state in one pool, handed to rotation policies."""

    model_id: str
    provider_id: str
    pool_id: str | None = None
    status: ModelStatus = ModelStatus.ACTIVE
    deactivation_reason: DeactivationReason | None = None
    consecutive_failures: int = 0
    window_requests: int = 0
    window_failures: int = 0
    requests: int = 0
    tokens: int = 0
    cost: float = 0.0
    latency_ewma_ms: float | None = None
    cooldown_until: datetime | None = None
    deactivated_at: datetime | None = None
    activated_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    pricing: ModelPricing | None = None
    priority: int = 0
    weight: float = 1.0
    limits: Mapping[str, float] = attrs.field(factory=dict)
    #: Requests and tokens over the last 60 seconds, for rate-limit-aware selection;
    #: per-minute caps go in ``limits`` as ``requests_per_minute`` / ``tokens_per_minute``.
    requests_last_minute: int = 0
    tokens_last_minute: int = 0

    @property
    def error_rate(self) -> float:
        """Failures over requests in the sliding window (0.0 with no requests)."""
        if self.window_requests == 0:
            return 0.0
        return self.window_failures / self.window_requests

    @property
    def is_active(self) -> bool:
        """True when the model may be selected."""
        return self.status is ModelStatus.ACTIVE
