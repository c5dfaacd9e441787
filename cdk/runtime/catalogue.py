"""The models a mesh knows: what each is called upstream, can do, costs and may spend."""

from __future__ import annotations

from datetime import timedelta

import attrs

from ..enums import ProviderFeature
from ..types import ModelInfo, ModelPricing
from .periods import Period
from .settings import BudgetSettings, LimitSettings, MaintenanceSettings

__all__ = ["ModelEntry"]


@attrs.define(kw_only=True)
class ModelEntry:
    """One routable model, as configured (or registered by discovery)."""

    model_id: str
    provider_id: str
    upstream: str
    capabilities: tuple[str, ...]
    pricing: ModelPricing | None = None
    limits: LimitSettings | None = None
    budget: BudgetSettings | None = None
    maintenance: tuple[MaintenanceSettings, ...] = ()
    quota_reset: Period | None = None
    priority: int = 0
    weight: float = 1.0
    deprecated: bool = False
    context_window: int | None = None
    #: The request features the model's config grants it; None: its provider's declared ones.
    features: frozenset[ProviderFeature] | None = None

    @property
    def limit_window(self) -> Period:
        """The period request and token caps count in."""
        return self.limits.window if self.limits else Period.DAILY

    def limit_values(self) -> dict[str, float]:
        """The caps as the snapshot's ``limits`` mapping."""
        out: dict[str, float] = {}
        if self.limits is not None:
            if self.limits.requests is not None:
                out["requests"] = self.limits.requests
            if self.limits.tokens is not None:
                out["tokens"] = self.limits.tokens
            if self.limits.requests_per_minute is not None:
                out["requests_per_minute"] = self.limits.requests_per_minute
            if self.limits.tokens_per_minute is not None:
                out["tokens_per_minute"] = self.limits.tokens_per_minute
        if self.budget is not None:
            if self.budget.daily is not None:
                out["budget_daily"] = self.budget.daily
            if self.budget.monthly is not None:
                out["budget_monthly"] = self.budget.monthly
        return out

    def info(self) -> ModelInfo:
        """The catalogue view handed to discovery connectors."""
        return ModelInfo(
            id=self.model_id,
            provider_id=self.provider_id,
            capabilities=self.capabilities,
            pricing=self.pricing,
            deprecated=self.deprecated,
            context_window=self.context_window,
            metadata={"upstream": self.upstream},
        )


def as_timedelta(seconds: float | timedelta) -> timedelta:
    """A timedelta from seconds or a timedelta."""
    return seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
