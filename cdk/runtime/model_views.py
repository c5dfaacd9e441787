"""``ModelViews``: a model as the router reads it: its snapshot for rotation policies, whether it serves."""

from __future__ import annotations

from datetime import timedelta

from ..enums import ModelStatus
from ..types import ModelSnapshot
from .book import ModelBook

__all__ = ["ModelViews"]


class ModelViews:
    """Read-only views of the models' state, as of the clock's now."""

    def __init__(self, book: ModelBook, *, error_window: timedelta) -> None:
        self.state, self.entries, self.clock = book.state, book.entries, book.clock
        self.error_window = error_window

    def snapshot(self, model_id: str, pool_id: str | None) -> ModelSnapshot:
        """The immutable view of ``model_id`` handed to rotation policies."""
        entry = self.entries[model_id]
        return self.state.models[model_id].snapshot(
            now=self.clock.now(),
            span=self.error_window,
            pool_id=pool_id,
            pricing=entry.pricing,
            priority=entry.priority,
            weight=entry.weight,
            limits=entry.limit_values(),
            window=entry.limit_window,
        )

    def usable(self, model_id: str) -> bool:
        """True when the model is active and its provider is not set aside."""
        model = self.state.models[model_id]
        if model.status is not ModelStatus.ACTIVE:
            return False
        provider = self.state.providers.get(model.provider_id)
        return provider is None or not provider.deactivated
