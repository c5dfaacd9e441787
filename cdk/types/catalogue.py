"""Models as providers describe them, what a catalogue sync found, and provider health."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .responses import TokenUsage

__all__ = ["HealthReport", "ModelChange", "ModelInfo", "ModelPricing", "ProbeResult", "SyncResult"]


@attrs.frozen
class ModelPricing:
    """Price per 1,000 tokens."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0
    currency: str = "USD"

    def cost(self, usage: TokenUsage) -> float:
        """What a call with this usage costs."""
        return (
            usage.prompt_tokens * self.input_per_1k + usage.completion_tokens * self.output_per_1k
        ) / 1000.0


@attrs.frozen(kw_only=True)
class ModelInfo:
    """A model as a provider describes it."""

    id: str
    provider_id: str | None = None
    capabilities: tuple[str, ...] = ()
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: ModelPricing | None = None
    deprecated: bool = False
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelChange:
    """A model whose description changed between two syncs."""

    model_id: str
    before: ModelInfo
    after: ModelInfo


@attrs.frozen(kw_only=True)
class SyncResult:
    """What a catalogue sync found, compared with the catalogue it was given."""

    new_models: tuple[ModelInfo, ...] = ()
    deprecated_models: tuple[ModelInfo, ...] = ()
    changed_models: tuple[ModelChange, ...] = ()
    errors: Mapping[str, str] = attrs.field(factory=dict)
    #: Providers that were not asked because they cannot list their models.
    skipped: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing changed and nothing failed."""
        return not (self.new_models or self.deprecated_models or self.changed_models or self.errors)


@attrs.frozen(kw_only=True)
class ProbeResult:
    """The outcome of a cheap health check against a provider."""

    provider_id: str
    ok: bool
    checked_at: datetime
    latency_ms: float | None = None
    error: str | None = None
    status_code: int | None = None


@attrs.frozen(kw_only=True)
class HealthReport:
    """A provider's health as a discovery connector sees it over time."""

    provider_id: str
    available: bool
    availability: float
    consecutive_failures: int = 0
    latency_ms: float | None = None
    last_checked: datetime | None = None
    last_error: str | None = None
